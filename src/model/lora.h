// LoRA adapters (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large
// Language Models") in the Hugging Face PEFT layout, so adapters move freely
// between Enclave and PEFT/transformers:
//   adapter_config.json        {"peft_type": "LORA", "r", "lora_alpha",
//                              "lora_dropout", "target_modules", "use_rslora", ...}
//   adapter_model.safetensors  base_model.model.<module>.lora_A.weight (r, in)
//                              base_model.model.<module>.lora_B.weight (out, r)
// An adapted Linear computes y = x W^T + b + scaling * dropout(x) A^T B^T with
// scaling = lora_alpha / r, or lora_alpha / sqrt(r) with rsLoRA (Kalajdzievski
// 2023). New adapters start as PEFT's: A ~ kaiming_uniform(a=sqrt(5)), i.e.
// U(-1/sqrt(in), 1/sqrt(in)), and B = 0, so the adapted model starts equal to
// the base. Adapter tensors are fp32 whatever the model's dtype (as PEFT
// under autocast). They live outside the module tree (named_parameters of the
// Transformer stays the checkpoint's), attached through LinearImpl::adapter_.
// Thread safety: attach/detach/merge mutate the model; do not run forward on
// another thread meanwhile. set_enabled/set_training are plain flags.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "model/transformer.h"

namespace enclave {

inline constexpr const char* kAdapterConfigFile = "adapter_config.json";
inline constexpr const char* kAdapterWeightsFile = "adapter_model.safetensors";

struct LoraConfig {
  std::int64_t r = 8;
  double alpha = 16.0;
  double dropout = 0.0;
  // Module names matched against the last part of each Linear's name
  // ("q_proj"); target_regex, when set, is matched against the whole name
  // instead (PEFT's string form of target_modules).
  std::vector<std::string> target_modules = {"q_proj", "v_proj"};
  std::string target_regex;
  bool use_rslora = false;
  std::string base_model_name_or_path;
  double scaling() const;
};

// Reads dir/adapter_config.json. Throws Error(kNotFound) if it is missing,
// Error(kInvalidInput) naming the field for bad values, Error(kUnsupported)
// for PEFT features we do not implement (another peft_type, DoRA, biases,
// fan_in_fan_out, modules_to_save, rank/alpha patterns, layers_to_transform).
LoraConfig read_adapter_config(const std::filesystem::path& dir);
// The PEFT adapter_config.json document.
nlohmann::json adapter_config_json(const LoraConfig& config);

class LoraAdapter {
 public:
  // New adapters on every Linear matched by config. Throws
  // Error(kInvalidInput) when no Linear matches or r is not positive.
  static std::shared_ptr<LoraAdapter> attach_new(TransformerImpl& model, const LoraConfig& config,
                                                 std::uint64_t seed);
  // The adapter saved in dir, checked against the model: every expected
  // tensor present with shape (r, in) / (out, r), no extra tensor. Throws
  // like read_adapter_config and Error(kInvalidInput) naming the tensor.
  static std::shared_ptr<LoraAdapter> attach_saved(TransformerImpl& model,
                                                   const std::filesystem::path& dir);
  // Detaches from the model (if not merged).
  ~LoraAdapter();
  LoraAdapter(const LoraAdapter&) = delete;
  LoraAdapter& operator=(const LoraAdapter&) = delete;

  const LoraConfig& config() const { return config_; }
  // Off: the model computes exactly the base (the DPO reference model).
  void set_enabled(bool enabled);
  bool enabled() const;
  // Dropout is applied only while training.
  void set_training(bool training);

  // A and B of each adapted layer under their PEFT names, in module order.
  std::vector<std::pair<std::string, torch::Tensor>> named_parameters() const;
  std::vector<torch::Tensor> parameters() const;

  // Writes adapter_config.json and adapter_model.safetensors into the
  // existing folder dir (each file atomically). Throws Error(kIo).
  void save_files(const std::filesystem::path& dir) const;
  // Replaces the adapter's tensors with those in dir (a checkpoint of the
  // same adapter). Throws like attach_saved.
  void load_files(const std::filesystem::path& dir);

  // W += scaling * B A on every adapted layer (computed in fp32, stored in
  // W's dtype), then detaches: the model is the merged model. W must be
  // writable (loaded with allow_mmap = false).
  void merge_and_detach();
  void detach();

 private:
  struct State;
  struct Layer;
  LoraAdapter(TransformerImpl& model, LoraConfig config);
  void load_tensors(const std::filesystem::path& dir);

  LoraConfig config_;
  std::shared_ptr<State> state_;
  std::vector<std::shared_ptr<Layer>> layers_;
};

// `enclave model merge-lora`: the base model in fp32 plus the adapter,
// merged and saved as a model directory (weights in save_dtype: "f32",
// "bf16" or "f16"; tokenizer files copied). out_dir appears whole or not at
// all. Throws like Engine::load, attach_saved and save_model.
void merge_lora(const std::filesystem::path& base_dir, const std::filesystem::path& adapter_dir,
                const std::filesystem::path& out_dir, const std::string& save_dtype);

}  // namespace enclave
