#include "model/config.h"

#include <cmath>
#include <string>

#include "core/error.h"
#include "core/json.h"

namespace enclave {
namespace {

using nlohmann::json;

// Bounds far above any real model; they exist so a corrupt or hostile config
// cannot make us allocate absurd tensors.
constexpr std::int64_t kMaxVocab = std::int64_t{1} << 24;
constexpr std::int64_t kMaxHidden = 1'000'000;
constexpr std::int64_t kMaxIntermediate = 10'000'000;
constexpr std::int64_t kMaxLayers = 10'000;
constexpr std::int64_t kMaxHeads = 100'000;
constexpr std::int64_t kMaxHeadDim = 65'536;
constexpr std::int64_t kMaxPositions = std::int64_t{1} << 26;

std::int64_t positive_int(const json& doc, std::string_view key, std::string_view what,
                          std::int64_t max, std::optional<std::int64_t> fallback = std::nullopt) {
  std::int64_t v = fallback ? json_int(doc, key, what, *fallback) : json_int(doc, key, what);
  if (v <= 0) fail_input("{}: field '{}': must be positive, got {}", what, key, v);
  if (v > max) fail_input("{}: field '{}': {} is larger than the limit {}", what, key, v, max);
  return v;
}

double positive_number(const json& doc, std::string_view key, std::string_view what,
                       double fallback) {
  double v = json_number(doc, key, what, fallback);
  if (!std::isfinite(v) || v <= 0)
    fail_input("{}: field '{}': must be a positive finite number, got {}", what, key, v);
  return v;
}

std::string default_model_type(const std::string& architecture) {
  if (architecture == "MistralForCausalLM") return "mistral";
  if (architecture == "Qwen2ForCausalLM") return "qwen2";
  return "llama";
}

std::string architecture_of(const json& doc, std::string_view what) {
  auto it = doc.find("architectures");
  if (it == doc.end() || it->is_null()) {
    // Some hand-written configs carry only model_type.
    std::string type = json_string(doc, "model_type", what);
    if (type == "llama") return "LlamaForCausalLM";
    if (type == "mistral") return "MistralForCausalLM";
    if (type == "qwen2") return "Qwen2ForCausalLM";
    fail(ErrorKind::kUnsupported, "{}: field 'model_type': unsupported model type '{}'", what,
         type);
  }
  if (!it->is_array() || it->empty() || !(*it)[0].is_string()) {
    fail_input("{}: field 'architectures': expected a non-empty list of strings", what);
  }
  std::string arch = (*it)[0].get<std::string>();
  if (arch != "LlamaForCausalLM" && arch != "MistralForCausalLM" && arch != "Qwen2ForCausalLM") {
    fail(ErrorKind::kUnsupported,
         "{}: field 'architectures': unsupported architecture '{}' (supported: LlamaForCausalLM, "
         "MistralForCausalLM, Qwen2ForCausalLM)",
         what, arch);
  }
  return arch;
}

RopeScaling parse_rope_scaling(const json& doc, std::string_view what) {
  RopeScaling out;
  auto it = doc.find("rope_scaling");
  if (it == doc.end() || it->is_null()) return out;
  if (!it->is_object())
    fail_input("{}: field 'rope_scaling': expected an object or null, got {}", what,
               it->type_name());
  const json& rs = *it;
  std::string sub = std::string(what) + ": rope_scaling";
  std::string type;
  if (rs.contains("rope_type") && !rs["rope_type"].is_null()) {
    type = json_string(rs, "rope_type", sub);
  } else {
    type = json_string(rs, "type", sub);
  }
  if (type == "default") return out;
  if (type == "linear") {
    out.type = RopeScalingType::kLinear;
    out.factor = positive_number(rs, "factor", sub, NAN);
    return out;
  }
  if (type == "llama3") {
    out.type = RopeScalingType::kLlama3;
    out.factor = positive_number(rs, "factor", sub, NAN);
    out.low_freq_factor = positive_number(rs, "low_freq_factor", sub, NAN);
    out.high_freq_factor = positive_number(rs, "high_freq_factor", sub, NAN);
    out.original_max_position_embeddings =
        positive_int(rs, "original_max_position_embeddings", sub, kMaxPositions);
    if (out.high_freq_factor <= out.low_freq_factor) {
      fail_input("{}: field 'high_freq_factor': {} must be larger than low_freq_factor {}", sub,
                 out.high_freq_factor, out.low_freq_factor);
    }
    return out;
  }
  fail(ErrorKind::kUnsupported,
       "{}: field 'rope_type': unsupported rope scaling '{}' (supported: default, linear, llama3)",
       sub, type);
}

std::optional<std::int64_t> parse_sliding_window(const json& doc, const std::string& architecture,
                                                 std::string_view what) {
  if (architecture == "LlamaForCausalLM") return std::nullopt;
  // Qwen2 applies the window only with use_sliding_window; Mistral whenever it is set.
  if (architecture == "Qwen2ForCausalLM" && !json_bool(doc, "use_sliding_window", what, false)) {
    return std::nullopt;
  }
  auto it = doc.find("sliding_window");
  if (it == doc.end() || it->is_null()) return std::nullopt;
  return positive_int(doc, "sliding_window", what, kMaxPositions);
}

std::vector<std::int64_t> parse_token_ids(const json& doc, std::string_view key,
                                          std::string_view what) {
  auto it = doc.find(std::string(key));
  if (it == doc.end() || it->is_null()) return {};
  std::vector<std::int64_t> out;
  auto take = [&](const json& v) {
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0) {
      fail_input("{}: field '{}': expected a non-negative integer or a list of them", what, key);
    }
    out.push_back(v.get<std::int64_t>());
  };
  if (it->is_array()) {
    for (const json& v : *it) take(v);
  } else {
    take(*it);
  }
  return out;
}

}  // namespace

ModelConfig parse_model_config(const json& doc, std::string_view what) {
  if (!doc.is_object()) fail_input("{}: expected a JSON object, got {}", what, doc.type_name());
  ModelConfig c;
  c.architecture = architecture_of(doc, what);
  c.model_type = json_string(doc, "model_type", what, default_model_type(c.architecture));

  std::string act = json_string(doc, "hidden_act", what, "silu");
  if (act != "silu") {
    fail(ErrorKind::kUnsupported, "{}: field 'hidden_act': unsupported activation '{}' (only silu)",
         what, act);
  }

  c.vocab_size = positive_int(doc, "vocab_size", what, kMaxVocab);
  c.hidden_size = positive_int(doc, "hidden_size", what, kMaxHidden);
  c.intermediate_size = positive_int(doc, "intermediate_size", what, kMaxIntermediate);
  c.n_layer = positive_int(doc, "num_hidden_layers", what, kMaxLayers);
  c.n_head = positive_int(doc, "num_attention_heads", what, kMaxHeads);
  c.n_kv_head = positive_int(doc, "num_key_value_heads", what, kMaxHeads, c.n_head);
  if (c.n_head % c.n_kv_head != 0) {
    fail_input("{}: field 'num_key_value_heads': {} does not divide num_attention_heads {}", what,
               c.n_kv_head, c.n_head);
  }
  if (doc.contains("head_dim") && !doc["head_dim"].is_null()) {
    c.head_dim = positive_int(doc, "head_dim", what, kMaxHeadDim);
  } else {
    if (c.hidden_size % c.n_head != 0) {
      fail_input("{}: field 'num_attention_heads': {} does not divide hidden_size {}", what,
                 c.n_head, c.hidden_size);
    }
    c.head_dim = c.hidden_size / c.n_head;
  }
  if (c.head_dim % 2 != 0)
    fail_input("{}: field 'head_dim': {} must be even for rotary embeddings", what, c.head_dim);

  c.rms_norm_eps = positive_number(doc, "rms_norm_eps", what, 1e-6);
  c.rope_theta = positive_number(doc, "rope_theta", what, 10000.0);
  c.rope_scaling = parse_rope_scaling(doc, what);
  c.max_position_embeddings =
      positive_int(doc, "max_position_embeddings", what, kMaxPositions, 2048);
  c.tie_word_embeddings = json_bool(doc, "tie_word_embeddings", what, false);

  // As in HF: Llama reads attention_bias/mlp_bias, Qwen2 always has q/k/v
  // bias, Mistral never has bias.
  if (c.architecture == "Qwen2ForCausalLM") {
    c.qkv_bias = true;
  } else if (c.architecture == "LlamaForCausalLM") {
    c.qkv_bias = c.o_bias = json_bool(doc, "attention_bias", what, false);
    c.mlp_bias = json_bool(doc, "mlp_bias", what, false);
  }
  c.sliding_window = parse_sliding_window(doc, c.architecture, what);
  if (c.sliding_window && c.architecture == "Qwen2ForCausalLM" &&
      doc.contains("max_window_layers")) {
    c.first_sliding_layer = json_int(doc, "max_window_layers", what);
    if (c.first_sliding_layer < 0) fail_input("{}: field 'max_window_layers': must be >= 0", what);
  }

  // Newer transformers write "dtype", older "torch_dtype".
  c.torch_dtype = json_string(doc, "torch_dtype", what, json_string(doc, "dtype", what, ""));
  std::vector<std::int64_t> bos = parse_token_ids(doc, "bos_token_id", what);
  if (bos.size() > 1) fail_input("{}: field 'bos_token_id': expected one id, got a list", what);
  if (!bos.empty()) c.bos_token_id = bos[0];
  c.eos_token_ids = parse_token_ids(doc, "eos_token_id", what);
  return c;
}

ModelConfig load_model_config(const std::filesystem::path& config_json) {
  return parse_model_config(read_json_file(config_json), config_json.string());
}

json to_json(const ModelConfig& c) {
  json j;
  j["architectures"] = json::array({c.architecture});
  j["model_type"] = c.model_type;
  j["hidden_act"] = "silu";
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.n_layer;
  j["num_attention_heads"] = c.n_head;
  j["num_key_value_heads"] = c.n_kv_head;
  j["head_dim"] = c.head_dim;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  switch (c.rope_scaling.type) {
    case RopeScalingType::kNone:
      j["rope_scaling"] = nullptr;
      break;
    case RopeScalingType::kLinear:
      j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", c.rope_scaling.factor}};
      break;
    case RopeScalingType::kLlama3:
      j["rope_scaling"] = {
          {"rope_type", "llama3"},
          {"factor", c.rope_scaling.factor},
          {"low_freq_factor", c.rope_scaling.low_freq_factor},
          {"high_freq_factor", c.rope_scaling.high_freq_factor},
          {"original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings}};
      break;
  }
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  if (c.architecture == "LlamaForCausalLM") {
    j["attention_bias"] = c.qkv_bias;
    j["mlp_bias"] = c.mlp_bias;
  }
  if (c.architecture == "Qwen2ForCausalLM") {
    j["use_sliding_window"] = c.sliding_window.has_value();
    j["sliding_window"] = c.sliding_window ? json(*c.sliding_window) : json(nullptr);
    j["max_window_layers"] = c.first_sliding_layer;
  } else if (c.architecture == "MistralForCausalLM") {
    j["sliding_window"] = c.sliding_window ? json(*c.sliding_window) : json(nullptr);
  }
  if (!c.torch_dtype.empty()) j["torch_dtype"] = c.torch_dtype;
  if (c.bos_token_id) j["bos_token_id"] = *c.bos_token_id;
  if (c.eos_token_ids.size() == 1) {
    j["eos_token_id"] = c.eos_token_ids[0];
  } else if (!c.eos_token_ids.empty()) {
    j["eos_token_id"] = c.eos_token_ids;
  }
  return j;
}

std::vector<ParameterShape> parameter_shapes(const ModelConfig& c) {
  const std::int64_t C = c.hidden_size;
  const std::int64_t q_dim = c.n_head * c.head_dim;
  const std::int64_t kv_dim = c.n_kv_head * c.head_dim;
  const std::int64_t I = c.intermediate_size;
  std::vector<ParameterShape> out;
  out.push_back({"model.embed_tokens.weight", {c.vocab_size, C}});
  auto linear = [&](const std::string& name, std::int64_t in, std::int64_t out_features,
                    bool bias) {
    out.push_back({name + ".weight", {out_features, in}});
    if (bias) out.push_back({name + ".bias", {out_features}});
  };
  for (std::int64_t i = 0; i < c.n_layer; ++i) {
    const std::string layer = "model.layers." + std::to_string(i);
    out.push_back({layer + ".input_layernorm.weight", {C}});
    linear(layer + ".self_attn.q_proj", C, q_dim, c.qkv_bias);
    linear(layer + ".self_attn.k_proj", C, kv_dim, c.qkv_bias);
    linear(layer + ".self_attn.v_proj", C, kv_dim, c.qkv_bias);
    linear(layer + ".self_attn.o_proj", q_dim, C, c.o_bias);
    out.push_back({layer + ".post_attention_layernorm.weight", {C}});
    linear(layer + ".mlp.gate_proj", C, I, c.mlp_bias);
    linear(layer + ".mlp.up_proj", C, I, c.mlp_bias);
    linear(layer + ".mlp.down_proj", I, C, c.mlp_bias);
  }
  out.push_back({"model.norm.weight", {C}});
  if (!c.tie_word_embeddings) out.push_back({"lm_head.weight", {c.vocab_size, C}});
  return out;
}

std::int64_t count_parameters(const ModelConfig& c) {
  std::int64_t total = 0;
  for (const ParameterShape& p : parameter_shapes(c)) {
    std::int64_t n = 1;
    for (std::int64_t d : p.shape) n *= d;
    total += n;
  }
  return total;
}

}  // namespace enclave
