// ModelConfig: the architecture of a decoder-only causal LM of the
// families Enclave runs (Llama 2/3, Mistral, Qwen2, Qwen3, SOLAR, Gemma 2,
// Gemma 3 text, EXAONE 3.5, Phi-3), read from a Hugging Face config.json and
// written back to one. Families differ by switches (norm style, q/k norms,
// soft-capping, per-layer windows and rotary bases, fused projections) and
// by checkpoint names (CheckpointNames). Torch-free so the CLI, store and inspect code can use it.
// Every field is validated on load; errors name the file, the field and the
// reason ("config.json: field 'num_key_value_heads': 3 does not divide
// num_attention_heads 8").
// Thread safety: plain values; load_model_config is stateless.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace enclave {

enum class RopeScalingType { kNone, kLinear, kLlama3, kLongRope };

// HF `rope_scaling`; kNone also covers "default" and null.
struct RopeScaling {
  RopeScalingType type = RopeScalingType::kNone;
  double factor = 1.0;
  double low_freq_factor = 1.0;                          // llama3 only
  double high_freq_factor = 4.0;                         // llama3 only
  std::int64_t original_max_position_embeddings = 8192;  // llama3, longrope
  // longrope (Phi-3 "su"/"longrope"): per-frequency divisors, long ones once
  // a forward pass reaches past original_max_position_embeddings.
  std::vector<double> short_factor;
  std::vector<double> long_factor;
  double attention_factor = 1.0;  // longrope: cos/sin scale
};

enum class Family { kLlama, kMistral, kQwen2, kQwen3, kGemma2, kGemma3, kExaone, kPhi3 };
enum class Activation { kSilu, kGeluTanh };

// The checkpoint's module names (HF's, per family); the Transformer module
// registers these so named_parameters() are the checkpoint's tensor names.
// Empty strings are modules the family does not have.
struct CheckpointNames {
  std::string stack = "model";  // "transformer" for EXAONE
  std::string embed = "embed_tokens";
  std::string layers = "layers";
  std::string final_norm = "norm";
  std::string attn_norm = "input_layernorm";
  std::string attn = "self_attn";
  std::string attn_inner;     // EXAONE: attn.attention.q_proj
  std::string attn_out_norm;  // Gemma: "post_attention_layernorm"
  std::string mlp_norm = "post_attention_layernorm";
  std::string mlp_out_norm;  // Gemma: "post_feedforward_layernorm"
  std::string q = "q_proj", k = "k_proj", v = "v_proj", o = "o_proj";
  std::string qkv;  // Phi-3 fused q, k, v (rows in that order)
  std::string gate = "gate_proj", up = "up_proj", down = "down_proj";
  std::string gate_up;  // Phi-3 fused gate, up
  // "model.layers." / "transformer.h.": the prefix of layer i's tensors.
  std::string layer_prefix() const { return stack + "." + layers + "."; }
};

struct ModelConfig {
  std::string architecture;  // "LlamaForCausalLM", "Gemma2ForCausalLM", ...
  std::string model_type;    // "llama", "gemma2", ...
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t n_layer = 0;    // num_hidden_layers
  std::int64_t n_head = 0;     // num_attention_heads
  std::int64_t n_kv_head = 0;  // num_key_value_heads
  std::int64_t head_dim = 0;   // may differ from hidden_size / n_head
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  std::int64_t max_position_embeddings = 0;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;  // Llama attention_bias, always true for Qwen2
  bool o_bias = false;    // Llama attention_bias; false for Qwen2
  bool mlp_bias = false;
  // Keys are visible iff 0 <= q_pos - k_pos < sliding_window on the layers
  // sliding_layers marks (Transformers' layer_types); nullopt = full causal.
  std::optional<std::int64_t> sliding_window;
  std::vector<bool> sliding_layers;  // n_layer entries when sliding_window is set
  Family family = Family::kLlama;
  Activation activation = Activation::kSilu;
  bool gemma_norm = false;                      // RMSNorm in fp32 scaled by (1 + weight)
  bool qk_norm = false;                         // RMSNorm over each head's q and k (Qwen3, Gemma 3)
  bool scale_embeddings = false;                // embeddings * sqrt(hidden_size) (Gemma)
  std::optional<double> query_pre_attn_scalar;  // scores * this^-0.5 instead of head_dim^-0.5
  std::optional<double> attn_logit_softcapping;
  std::optional<double> final_logit_softcapping;
  // Gemma 3: sliding layers use this rotary base without scaling.
  std::optional<double> rope_local_theta;
  double partial_rotary_factor = 1.0;  // Phi-3: rotate the first head_dim * factor dims
  // The text model of a Gemma3ForConditionalGeneration checkpoint (nested
  // text_config): its tensors sit under "language_model.model." or
  // "model.language_model." and its vision tensors are not loaded.
  bool text_of_multimodal = false;
  std::string torch_dtype;  // as recorded ("bfloat16"), informational
  std::optional<std::int64_t> bos_token_id;
  std::vector<std::int64_t> eos_token_ids;
};

// Whether layer i attends through the sliding window.
bool is_sliding_layer(const ModelConfig& config, std::int64_t layer);
// Dimensions of each head that rotary embeddings rotate (even, <= head_dim).
std::int64_t rotary_dim(const ModelConfig& config);
CheckpointNames checkpoint_names(const ModelConfig& config);
// Llama's module names (q_proj, o_proj, gate_proj, ...) as this family calls
// them (EXAONE out_proj, c_fc_0; Phi-3 qkv_proj, gate_up_proj), so LoRA
// targets written for Llama work on every family; other names pass
// through. Order kept, duplicates dropped.
std::vector<std::string> family_module_names(const ModelConfig& config,
                                             const std::vector<std::string>& names);
// Rewrites `doc` (the config.json of `source`) for a model whose layer i is
// source layer source_layers[i]: the family's layer-count key and per-layer
// attention types. Used by merges and depth up-scaling.
void set_layers(nlohmann::json& doc, const ModelConfig& source,
                const std::vector<std::int64_t>& source_layers);

// Parses and validates a config.json document; `what` names it in errors.
// Throws Error(kInvalidInput) for a missing/mistyped/out-of-range field and
// Error(kUnsupported) for an architecture, activation or rope scaling we do
// not implement.
ModelConfig parse_model_config(const nlohmann::json& doc, std::string_view what);

// Reads and parses a config.json file (errors name the path).
ModelConfig load_model_config(const std::filesystem::path& config_json);

// The HF config.json for a config (round-trips through parse_model_config).
nlohmann::json to_json(const ModelConfig& config);

// The checkpoint tensors a config implies, in module order, with HF names
// and shapes ("model.layers.0.self_attn.q_proj.weight", {q_dim, hidden}).
// The Transformer module registers exactly these (a test checks it).
struct ParameterShape {
  std::string name;
  std::vector<std::int64_t> shape;
};
std::vector<ParameterShape> parameter_shapes(const ModelConfig& config);

// Number of parameters the config implies (sum over parameter_shapes).
std::int64_t count_parameters(const ModelConfig& config);

}  // namespace enclave
