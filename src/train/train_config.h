// TrainConfig: every setting of `enclave train pretrain|sft|dpo|sdpo`, one
// flat table of keys shared by the YAML file (--config train.yaml) and the
// command line (key lora_r <-> flag --lora-r), so whatever can be set on one
// can be set on the other; flags win over the file. The resolved config
// (defaults filled in, e.g. the learning rate of the mode) is what the run
// stores, so a run can be repeated from its params alone.
// Names follow Hugging Face TrainingArguments / TRL / PEFT where they have
// one (lr_scheduler, warmup_steps, max_grad_norm, beta, loss_type, lora_r,
// lora_alpha, use_rslora, ...).
// Torch-free. Thread safety: plain values; functions are stateless.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace enclave::train {

enum class TrainMode { kPretrain, kSft, kDpo, kSdpo };
enum class LrScheduler { kCosine, kLinear, kConstant };
enum class DpoLossType { kSigmoid, kIpo };
// kBf16: bf16 weights and activations with fp32 master weights in the
// optimiser; kBf16Autocast: fp32 weights, matmuls autocast to bf16.
enum class Precision { kF32, kBf16, kBf16Autocast };
// How sdpo splits the preference data into ordered chunks.
enum class SdpoSplit { kMargin, kField, kFiles };

std::string_view to_string(TrainMode mode);
// "pretrain" | "sft" | "dpo" | "sdpo"; Error(kInvalidInput) otherwise.
TrainMode parse_train_mode(std::string_view text);

struct TrainConfig {
  TrainMode mode = TrainMode::kSft;
  // What to train on and what to produce.
  std::string model;      // model reference or directory
  std::string data;       // dataset reference or JSONL path
  std::string eval_data;  // optional; held-out loss every eval_every steps
  std::string out;        // registry name of the result
  // Optimisation.
  std::optional<double> lr;  // unset: the mode's default (resolve_defaults)
  LrScheduler lr_scheduler = LrScheduler::kCosine;
  std::int64_t warmup_steps = 0;
  double min_lr_ratio = 0.0;  // floor of cosine/linear decay, as a fraction of lr
  double weight_decay = 0.0;  // never applied to norms and biases
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
  double max_grad_norm = 1.0;              // 0: no clipping
  std::int64_t batch_size = 8;             // examples per optimiser step (all processes)
  std::int64_t micro_batch_tokens = 4096;  // padded tokens per forward pass
  std::int64_t max_length = 512;           // packing length (pretrain), truncation (others)
  std::int64_t max_steps = 0;              // 0: run `epochs` epochs
  double epochs = 1.0;
  Precision precision = Precision::kF32;
  bool gradient_checkpointing = false;
  std::string save_dtype = "f32";  // dtype of the saved model: f32 | bf16
  // Evaluation and checkpoints.
  std::int64_t eval_every = 0;               // 0: evaluate only at the end (when eval_data is set)
  std::int64_t early_stopping_patience = 0;  // evaluations without improvement; 0: off
  std::int64_t save_every = 0;               // 0: no periodic checkpoints
  std::int64_t keep_checkpoints = 2;
  std::string checkpoint_dir;  // default: <workspace>/checkpoints/<out>
  std::string resume;          // "", "latest" or a checkpoint directory
  // Reproducibility and compute.
  std::uint64_t seed = 0;
  std::int64_t threads = 0;
  std::string device = "cpu";
  std::int64_t log_every = 10;  // progress lines when stderr is not a terminal
  // LoRA (PEFT).
  bool lora = false;
  std::int64_t lora_r = 8;
  double lora_alpha = 16.0;
  double lora_dropout = 0.0;
  std::vector<std::string> lora_target_modules = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                  "gate_proj", "up_proj", "down_proj"};
  bool use_rslora = false;
  // DPO / sDPO.
  double beta = 0.1;
  DpoLossType loss_type = DpoLossType::kSigmoid;
  double label_smoothing = 0.0;
  std::int64_t sdpo_chunks = 2;
  SdpoSplit sdpo_split = SdpoSplit::kMargin;
  std::string sdpo_field;               // kField: records with equal values form one chunk
  std::vector<std::string> sdpo_files;  // kFiles: one JSONL per chunk, in order
  // Differential privacy (DP-SGD, dp_sgd.h): all three or none.
  std::optional<double> dp_epsilon;        // target epsilon of the whole run
  std::optional<double> dp_delta;          // its delta, below 1 / training examples
  std::optional<double> dp_max_grad_norm;  // C: each example's gradient is clipped to it
  // Data parallel (c10d).
  std::int64_t nproc = 1;
  std::int64_t nnodes = 1;
  std::int64_t node_rank = 0;
  std::string master_addr = "127.0.0.1";
  std::int64_t master_port = 29500;
};

// One settable key: its type for YAML checks and flag parsing.
enum class FieldType { kInt, kNumber, kString, kBool, kStringList };
struct ConfigField {
  std::string key;  // "lora_r"
  FieldType type;
  std::string help;                  // shown by --help
  std::vector<std::string> choices;  // allowed values of a string field; empty: any
};

// Every key, in the order --help lists them ("mode" is not one: it is the
// subcommand).
const std::vector<ConfigField>& config_fields();
// "--lora-r" for "lora_r".
std::string flag_name(std::string_view key);

// Converts a flag's text to the JSON value of its field ("8" -> 8,
// "q_proj,v_proj" -> ["q_proj", "v_proj"], "true" -> true). Throws
// Error(kInvalidInput) naming the flag.
nlohmann::json parse_flag_value(const ConfigField& field, std::string_view text);

// Builds a config from an object of keys (the YAML file merged with the
// flags). `what` names the source in errors. Throws Error(kInvalidInput) for
// an unknown key (naming it), a value of the wrong type or out of range, a
// value not among a field's choices, or a missing model/data/out.
TrainConfig config_from_json(TrainMode mode, const nlohmann::json& values, std::string_view what);

// Whether the run trains with DP-SGD (dp_epsilon is set; resolve_defaults
// checks the other two are).
inline bool dp_enabled(const TrainConfig& config) { return config.dp_epsilon.has_value(); }

// Fills what depends on the mode (lr) and checks combinations (sdpo_files
// with sdpo_split=files, ...). Throws Error(kInvalidInput).
void resolve_defaults(TrainConfig& config);

// All keys with their values (what the run stores as params); round-trips
// through config_from_json.
nlohmann::json to_json(const TrainConfig& config);

}  // namespace enclave::train
