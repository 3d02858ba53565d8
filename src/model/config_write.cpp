// config.json written back per family (to_json) and rewritten for a new
// layer stack (set_layers, for merges and depth up-scaling).
#include "model/config.h"

namespace enclave {

using nlohmann::json;

namespace {

json layer_types_json(const ModelConfig& c) {
  json types = json::array();
  for (std::int64_t i = 0; i < c.n_layer; ++i)
    types.push_back(is_sliding_layer(c, i) ? "sliding_attention" : "full_attention");
  return types;
}

// Whether the family's own keys (max_window_layers, the Gemma patterns)
// describe the layer pattern, so layer_types need not be written.
bool pattern_is_default(const ModelConfig& c) {
  for (std::int64_t i = 0; i < c.n_layer; ++i) {
    bool expected = false;
    switch (c.family) {
      case Family::kMistral:
      case Family::kPhi3:
        expected = true;
        break;
      case Family::kGemma2:
        expected = (i + 1) % 2 != 0;
        break;
      default:
        return false;
    }
    if (is_sliding_layer(c, i) != expected) return false;
  }
  return true;
}

json rope_scaling_json(const ModelConfig& c) {
  const RopeScaling& rs = c.rope_scaling;
  switch (rs.type) {
    case RopeScalingType::kNone:
      return nullptr;
    case RopeScalingType::kLinear:
      return {{"rope_type", "linear"}, {"factor", rs.factor}};
    case RopeScalingType::kLlama3:
      return {{"rope_type", "llama3"},
              {"factor", rs.factor},
              {"low_freq_factor", rs.low_freq_factor},
              {"high_freq_factor", rs.high_freq_factor},
              {"original_max_position_embeddings", rs.original_max_position_embeddings}};
    case RopeScalingType::kLongRope:
      return {{"type", "longrope"},
              {"short_factor", rs.short_factor},
              {"long_factor", rs.long_factor},
              {"attention_factor", rs.attention_factor}};
  }
  return nullptr;
}

}  // namespace

json to_json(const ModelConfig& c) {
  json j;
  const bool exaone = c.family == Family::kExaone;
  const bool gemma = c.family == Family::kGemma2 || c.family == Family::kGemma3;
  j["architectures"] = json::array({c.architecture});
  j["model_type"] = c.model_type;
  const char* act = c.activation == Activation::kSilu ? "silu" : "gelu_pytorch_tanh";
  j[exaone ? "activation_function" : "hidden_act"] = act;
  if (gemma) j["hidden_activation"] = act;
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j[exaone ? "num_layers" : "num_hidden_layers"] = c.n_layer;
  j["num_attention_heads"] = c.n_head;
  j["num_key_value_heads"] = c.n_kv_head;
  j["head_dim"] = c.head_dim;
  j[exaone ? "layer_norm_epsilon" : "rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  j["rope_scaling"] = rope_scaling_json(c);
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  switch (c.family) {
    case Family::kLlama:
      j["attention_bias"] = c.qkv_bias;
      j["mlp_bias"] = c.mlp_bias;
      break;
    case Family::kQwen2:
    case Family::kQwen3: {
      if (c.family == Family::kQwen3) j["attention_bias"] = c.qkv_bias;
      // max_window_layers says it when the sliding layers are a suffix.
      std::int64_t first = c.n_layer;
      while (first > 0 && is_sliding_layer(c, first - 1)) --first;
      bool suffix = c.sliding_window.has_value();
      for (std::int64_t i = 0; i < first; ++i) suffix = suffix && !is_sliding_layer(c, i);
      j["use_sliding_window"] = c.sliding_window.has_value();
      j["sliding_window"] = c.sliding_window ? json(*c.sliding_window) : json(nullptr);
      j["max_window_layers"] = c.sliding_window ? first : c.n_layer;
      if (c.sliding_window && !suffix) j["layer_types"] = layer_types_json(c);
      break;
    }
    case Family::kMistral:
    case Family::kPhi3:
      j["sliding_window"] = c.sliding_window ? json(*c.sliding_window) : json(nullptr);
      if (c.sliding_window && !pattern_is_default(c)) j["layer_types"] = layer_types_json(c);
      if (c.family == Family::kPhi3) {
        j["partial_rotary_factor"] = c.partial_rotary_factor;
        if (c.rope_scaling.type == RopeScalingType::kLongRope)
          j["original_max_position_embeddings"] = c.rope_scaling.original_max_position_embeddings;
      }
      break;
    case Family::kGemma2:
    case Family::kGemma3:
      j["attention_bias"] = c.qkv_bias;
      j["query_pre_attn_scalar"] =
          c.query_pre_attn_scalar ? json(*c.query_pre_attn_scalar) : json(nullptr);
      j["attn_logit_softcapping"] =
          c.attn_logit_softcapping ? json(*c.attn_logit_softcapping) : json(nullptr);
      j["final_logit_softcapping"] =
          c.final_logit_softcapping ? json(*c.final_logit_softcapping) : json(nullptr);
      j["sliding_window"] = c.sliding_window ? json(*c.sliding_window) : json(nullptr);
      j["layer_types"] = layer_types_json(c);
      if (c.rope_local_theta) j["rope_local_base_freq"] = *c.rope_local_theta;
      break;
    case Family::kExaone:
      break;
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

void set_layers(json& doc, const ModelConfig& source, const std::vector<std::int64_t>& layers) {
  ModelConfig out = source;
  out.n_layer = static_cast<std::int64_t>(layers.size());
  out.sliding_layers.clear();
  for (std::int64_t l : layers) out.sliding_layers.push_back(is_sliding_layer(source, l));
  const json patched = to_json(out);
  if (!source.sliding_window && !source.text_of_multimodal) {
    doc[source.family == Family::kExaone ? "num_layers" : "num_hidden_layers"] = out.n_layer;
    return;
  }
  if (source.text_of_multimodal) {
    doc = patched;  // saved as the text model alone (Gemma3ForCausalLM)
    return;
  }
  for (const char* key : {"num_hidden_layers", "num_layers", "layer_types", "max_window_layers",
                          "use_sliding_window", "sliding_window_pattern"}) {
    if (patched.contains(key)) {
      doc[key] = patched[key];
    } else if (std::string_view(key) != "num_hidden_layers" &&
               std::string_view(key) != "num_layers") {
      doc.erase(key);
    }
  }
  // The Gemma patterns and max_window_layers no longer describe an
  // up-scaled stack; layer_types (written above) does.
  if (patched.contains("layer_types")) doc.erase("sliding_window_pattern");
}

}  // namespace enclave
