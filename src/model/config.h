// ModelConfig: the architecture of a Llama-like causal LM (Llama 2/3,
// Mistral, Qwen2, SOLAR), read from a Hugging Face config.json and written
// back to one. Torch-free so the CLI, store and inspect code can use it.
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

enum class RopeScalingType { kNone, kLinear, kLlama3 };

// HF `rope_scaling`; kNone also covers "default" and null.
struct RopeScaling {
  RopeScalingType type = RopeScalingType::kNone;
  double factor = 1.0;
  double low_freq_factor = 1.0;                          // llama3 only
  double high_freq_factor = 4.0;                         // llama3 only
  std::int64_t original_max_position_embeddings = 8192;  // llama3 only
};

struct ModelConfig {
  std::string architecture;  // "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM"
  std::string model_type;    // "llama", "mistral", "qwen2"
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
  // Keys are visible iff 0 <= q_pos - k_pos < sliding_window; nullopt = full causal.
  std::optional<std::int64_t> sliding_window;
  // Qwen2 max_window_layers: layers below this index attend fully, the rest
  // use sliding_window (Transformers' layer_types). 0 = every layer.
  std::int64_t first_sliding_layer = 0;
  std::string torch_dtype;  // as recorded ("bfloat16"), informational
  std::optional<std::int64_t> bos_token_id;
  std::vector<std::int64_t> eos_token_ids;
};

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
