#include "model/config.h"

#include <algorithm>
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

struct FamilyInfo {
  std::string_view architecture;
  std::string_view model_type;
  Family family;
};

constexpr FamilyInfo kFamilies[] = {
    {"LlamaForCausalLM", "llama", Family::kLlama},
    {"MistralForCausalLM", "mistral", Family::kMistral},
    {"Qwen2ForCausalLM", "qwen2", Family::kQwen2},
    {"Qwen3ForCausalLM", "qwen3", Family::kQwen3},
    {"Gemma2ForCausalLM", "gemma2", Family::kGemma2},
    {"Gemma3ForCausalLM", "gemma3_text", Family::kGemma3},
    {"ExaoneForCausalLM", "exaone", Family::kExaone},
    {"Phi3ForCausalLM", "phi3", Family::kPhi3},
};
constexpr std::string_view kGemma3Multimodal = "Gemma3ForConditionalGeneration";

std::string supported_list() {
  std::string out;
  for (const FamilyInfo& f : kFamilies)
    out += std::string(out.empty() ? "" : ", ") += f.architecture;
  return out + ", " + std::string(kGemma3Multimodal);
}

const FamilyInfo* family_of_architecture(std::string_view arch) {
  for (const FamilyInfo& f : kFamilies)
    if (f.architecture == arch) return &f;
  return nullptr;
}

std::string architecture_of(const json& doc, std::string_view what) {
  auto it = doc.find("architectures");
  if (it == doc.end() || it->is_null()) {
    // Some hand-written configs carry only model_type.
    std::string type = json_string(doc, "model_type", what);
    if (type == "gemma3") return std::string(kGemma3Multimodal);
    for (const FamilyInfo& f : kFamilies)
      if (f.model_type == type) return std::string(f.architecture);
    fail(ErrorKind::kUnsupported, "{}: field 'model_type': unsupported model type '{}'", what,
         type);
  }
  if (!it->is_array() || it->empty() || !(*it)[0].is_string()) {
    fail_input("{}: field 'architectures': expected a non-empty list of strings", what);
  }
  std::string arch = (*it)[0].get<std::string>();
  if (arch != kGemma3Multimodal && family_of_architecture(arch) == nullptr) {
    fail(ErrorKind::kUnsupported,
         "{}: field 'architectures': unsupported architecture '{}' (supported: {})", what, arch,
         supported_list());
  }
  return arch;
}

// The defaults of each family's Transformers config class for the keys its
// published config.json files leave out (Gemma 3's text_config is mostly
// defaults).
json family_defaults(Family family) {
  switch (family) {
    case Family::kGemma2:
      return {{"vocab_size", 256000},
              {"hidden_size", 2304},
              {"intermediate_size", 9216},
              {"num_hidden_layers", 26},
              {"num_attention_heads", 8},
              {"num_key_value_heads", 4},
              {"head_dim", 256},
              {"hidden_activation", "gelu_pytorch_tanh"},
              {"max_position_embeddings", 8192},
              {"rms_norm_eps", 1e-6},
              {"rope_theta", 10000.0},
              {"query_pre_attn_scalar", 256},
              {"sliding_window", 4096},
              {"final_logit_softcapping", 30.0},
              {"attn_logit_softcapping", 50.0},
              {"tie_word_embeddings", true}};
    case Family::kGemma3: {
      // Gemma3TextConfig: Gemma 2's shape, no soft-caps, local:global rope.
      json d = family_defaults(Family::kGemma2);
      d.update(json{{"vocab_size", 262208},
                    {"max_position_embeddings", 131072},
                    {"rope_theta", 1000000.0},
                    {"rope_local_base_freq", 10000.0},
                    {"sliding_window_pattern", 6},
                    {"final_logit_softcapping", nullptr},
                    {"attn_logit_softcapping", nullptr}});
      return d;
    }
    case Family::kQwen3:
      return {{"sliding_window", 4096},
              {"max_window_layers", 28},
              {"rms_norm_eps", 1e-6},
              {"head_dim", 128},
              {"num_key_value_heads", 32}};
    case Family::kPhi3:
      return {{"rms_norm_eps", 1e-5},
              {"max_position_embeddings", 4096},
              {"original_max_position_embeddings", 4096}};
    case Family::kExaone:
      return {{"layer_norm_epsilon", 1e-5}, {"tie_word_embeddings", true}};
    default:
      return json::object();
  }
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
  if (type == "longrope" || type == "su") {
    out.type = RopeScalingType::kLongRope;
    auto factors = [&](std::string_view key) {
      auto f = rs.find(std::string(key));
      if (f == rs.end() || !f->is_array() || f->empty())
        fail_input("{}: field '{}': expected a non-empty list of numbers", sub, key);
      std::vector<double> v;
      for (const json& x : *f) {
        if (!x.is_number() || !std::isfinite(x.get<double>()) || x.get<double>() <= 0)
          fail_input("{}: field '{}': expected positive finite numbers", sub, key);
        v.push_back(x.get<double>());
      }
      return v;
    };
    out.short_factor = factors("short_factor");
    out.long_factor = factors("long_factor");
    if (rs.contains("factor") && !rs["factor"].is_null())
      out.factor = positive_number(rs, "factor", sub, NAN);
    if (rs.contains("attention_factor") && !rs["attention_factor"].is_null())
      out.attention_factor = positive_number(rs, "attention_factor", sub, NAN);
    else
      out.attention_factor = -1;  // derived once the context lengths are known
    if (rs.contains("original_max_position_embeddings"))
      out.original_max_position_embeddings =
          positive_int(rs, "original_max_position_embeddings", sub, kMaxPositions);
    else
      out.original_max_position_embeddings = 0;
    return out;
  }
  fail(ErrorKind::kUnsupported,
       "{}: field 'rope_type': unsupported rope scaling '{}' (supported: default, linear, llama3, "
       "longrope)",
       sub, type);
}

// Transformers' _compute_longrope_parameters: Phi-3 keeps the pretrained
// context in original_max_position_embeddings and derives the scale from
// the ratio of the two contexts.
void finish_longrope(RopeScaling& rs, const json& doc, const ModelConfig& c,
                     std::string_view what) {
  if (doc.contains("original_max_position_embeddings") &&
      !doc["original_max_position_embeddings"].is_null()) {
    rs.original_max_position_embeddings =
        positive_int(doc, "original_max_position_embeddings", what, kMaxPositions);
    rs.factor = static_cast<double>(c.max_position_embeddings) /
                static_cast<double>(rs.original_max_position_embeddings);
  } else if (rs.original_max_position_embeddings == 0) {
    rs.original_max_position_embeddings = c.max_position_embeddings;
  }
  if (rs.attention_factor < 0) {
    rs.attention_factor =
        rs.factor <= 1.0
            ? 1.0
            : std::sqrt(1.0 + std::log(rs.factor) / std::log(static_cast<double>(
                                                        rs.original_max_position_embeddings)));
  }
  const std::size_t half = static_cast<std::size_t>(rotary_dim(c) / 2);
  if (rs.short_factor.size() != half || rs.long_factor.size() != half) {
    fail_input(
        "{}: rope_scaling: short_factor has {} and long_factor {} entries; the rotary dimension "
        "{} needs {}",
        what, rs.short_factor.size(), rs.long_factor.size(), rotary_dim(c), half);
  }
}

std::optional<double> optional_positive(const json& doc, std::string_view key,
                                        std::string_view what) {
  auto it = doc.find(std::string(key));
  if (it == doc.end() || it->is_null()) return std::nullopt;
  return positive_number(doc, key, what, NAN);
}

// Which layers use the sliding window: layer_types when given, else each
// family's rule (Transformers' config classes).
void parse_sliding(const json& doc, ModelConfig& c, std::string_view what) {
  auto lt = doc.find("layer_types");
  std::optional<std::int64_t> window;
  if (doc.contains("sliding_window") && !doc["sliding_window"].is_null())
    window = positive_int(doc, "sliding_window", what, kMaxPositions);
  std::vector<bool> sliding(static_cast<std::size_t>(c.n_layer), false);
  // Qwen's window exists only with use_sliding_window, whatever layer_types says.
  const bool qwen = c.family == Family::kQwen2 || c.family == Family::kQwen3;
  if (qwen && !json_bool(doc, "use_sliding_window", what, false)) return;
  if (lt != doc.end() && !lt->is_null()) {
    if (!lt->is_array() || static_cast<std::int64_t>(lt->size()) != c.n_layer) {
      fail_input("{}: field 'layer_types': expected a list of {} entries (num_hidden_layers)", what,
                 c.n_layer);
    }
    for (std::size_t i = 0; i < lt->size(); ++i) {
      const json& t = (*lt)[i];
      if (t == "sliding_attention") {
        sliding[i] = true;
      } else if (t != "full_attention") {
        fail_input("{}: field 'layer_types[{}]': expected 'sliding_attention' or 'full_attention'",
                   what, i);
      }
    }
  } else {
    switch (c.family) {
      case Family::kLlama:
      case Family::kExaone:
        window.reset();
        break;
      case Family::kMistral:
      case Family::kPhi3:
        sliding.assign(sliding.size(), true);
        break;
      case Family::kQwen2:
      case Family::kQwen3: {
        const std::int64_t first = json_int(doc, "max_window_layers", what, 28);
        if (first < 0) fail_input("{}: field 'max_window_layers': must be >= 0", what);
        for (std::int64_t i = first; i < c.n_layer; ++i) sliding[i] = true;
        break;
      }
      case Family::kGemma2:
        for (std::int64_t i = 0; i < c.n_layer; ++i) sliding[i] = (i + 1) % 2 != 0;
        break;
      case Family::kGemma3: {
        const std::int64_t pattern =
            positive_int(doc, "sliding_window_pattern", what, kMaxLayers, 6);
        for (std::int64_t i = 0; i < c.n_layer; ++i) sliding[i] = (i + 1) % pattern != 0;
        break;
      }
    }
  }
  bool any = false;
  for (bool b : sliding) any = any || b;
  if (any && !window) {
    if (lt != doc.end() && !lt->is_null())
      fail_input("{}: field 'layer_types': sliding layers need a 'sliding_window'", what);
    return;  // e.g. Mistral with sliding_window null: full attention
  }
  if (!any) return;
  c.sliding_window = window;
  c.sliding_layers = std::move(sliding);
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

namespace {

Activation parse_activation(const json& doc, const ModelConfig& c, std::string_view what) {
  std::string key = "hidden_act";
  if (c.family == Family::kExaone) key = "activation_function";
  if ((c.family == Family::kGemma2 || c.family == Family::kGemma3) &&
      doc.contains("hidden_activation") && !doc["hidden_activation"].is_null())
    key = "hidden_activation";
  const bool gemma = c.family == Family::kGemma2 || c.family == Family::kGemma3;
  std::string act = json_string(doc, key, what, gemma ? "gelu_pytorch_tanh" : "silu");
  if (act == "silu") return Activation::kSilu;
  if (act == "gelu_pytorch_tanh" || act == "gelu_tanh") return Activation::kGeluTanh;
  fail(ErrorKind::kUnsupported,
       "{}: field '{}': unsupported activation '{}' (supported: silu, gelu_pytorch_tanh)", what,
       key, act);
}

ModelConfig parse_text_config(const json& given, std::string arch, std::string_view what) {
  ModelConfig c;
  c.architecture = std::move(arch);
  const FamilyInfo& info = *family_of_architecture(c.architecture);
  c.family = info.family;
  json doc = family_defaults(c.family);
  doc.update(given);
  c.model_type = json_string(doc, "model_type", what, std::string(info.model_type));
  c.activation = parse_activation(doc, c, what);
  const bool exaone = c.family == Family::kExaone;

  c.vocab_size = positive_int(doc, "vocab_size", what, kMaxVocab);
  c.hidden_size = positive_int(doc, "hidden_size", what, kMaxHidden);
  if (exaone && !doc.contains("intermediate_size")) {
    c.intermediate_size = 4 * c.hidden_size;  // ExaoneConfig's default
  } else {
    c.intermediate_size = positive_int(doc, "intermediate_size", what, kMaxIntermediate);
  }
  c.n_layer = positive_int(doc, exaone ? "num_layers" : "num_hidden_layers", what, kMaxLayers);
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

  c.rms_norm_eps = positive_number(doc, exaone ? "layer_norm_epsilon" : "rms_norm_eps", what, 1e-6);
  c.rope_theta = positive_number(doc, "rope_theta", what, 10000.0);
  c.max_position_embeddings =
      positive_int(doc, "max_position_embeddings", what, kMaxPositions, 2048);
  c.tie_word_embeddings = json_bool(doc, "tie_word_embeddings", what, false);
  if (c.family == Family::kPhi3 && doc.contains("partial_rotary_factor") &&
      !doc["partial_rotary_factor"].is_null()) {
    c.partial_rotary_factor = json_number(doc, "partial_rotary_factor", what);
    if (!(c.partial_rotary_factor > 0 && c.partial_rotary_factor <= 1))
      fail_input("{}: field 'partial_rotary_factor': must be in (0, 1], got {}", what,
                 c.partial_rotary_factor);
    if (rotary_dim(c) < 2 || rotary_dim(c) % 2 != 0)
      fail_input("{}: field 'partial_rotary_factor': head_dim {} x {} is not an even dimension",
                 what, c.head_dim, c.partial_rotary_factor);
  }
  if ((c.family == Family::kExaone || c.family == Family::kPhi3) &&
      c.head_dim * c.n_head != c.hidden_size) {
    // Their modelling code derives head_dim from hidden_size.
    fail(ErrorKind::kUnsupported,
         "{}: field 'head_dim': {} x {} heads differs from hidden_size {}, which {} does not "
         "support",
         what, c.head_dim, c.n_head, c.hidden_size, c.architecture);
  }
  c.rope_scaling = parse_rope_scaling(doc, what);
  if (c.rope_scaling.type == RopeScalingType::kLongRope) {
    if (doc["rope_scaling"].contains("factor") && !doc["rope_scaling"]["factor"].is_null())
      fail(ErrorKind::kUnsupported,
           "{}: rope_scaling: field 'factor' with longrope is not supported (the scale comes from "
           "max_position_embeddings / original_max_position_embeddings)",
           what);
    finish_longrope(c.rope_scaling, doc, c, what);
  }

  // Bias as each family's modelling code has it.
  switch (c.family) {
    case Family::kQwen2:
      c.qkv_bias = true;
      break;
    case Family::kLlama:
      c.qkv_bias = c.o_bias = json_bool(doc, "attention_bias", what, false);
      c.mlp_bias = json_bool(doc, "mlp_bias", what, false);
      break;
    case Family::kQwen3:
    case Family::kGemma2:
    case Family::kGemma3:
      c.qkv_bias = c.o_bias = json_bool(doc, "attention_bias", what, false);
      break;
    default:
      break;
  }
  const bool gemma = c.family == Family::kGemma2 || c.family == Family::kGemma3;
  c.gemma_norm = gemma;
  c.scale_embeddings = gemma;
  c.qk_norm = c.family == Family::kQwen3 || c.family == Family::kGemma3;
  if (gemma) {
    c.query_pre_attn_scalar = optional_positive(doc, "query_pre_attn_scalar", what);
    c.attn_logit_softcapping = optional_positive(doc, "attn_logit_softcapping", what);
    c.final_logit_softcapping = optional_positive(doc, "final_logit_softcapping", what);
  }
  if (c.family == Family::kGemma3) {
    c.rope_local_theta = positive_number(doc, "rope_local_base_freq", what, 10000.0);
    // Transformers versions disagree on whether Gemma 3 applies it.
    if (c.attn_logit_softcapping)
      fail(ErrorKind::kUnsupported,
           "{}: field 'attn_logit_softcapping': not supported for Gemma 3 (set it to null)", what);
  }
  parse_sliding(doc, c, what);

  // Newer transformers write "dtype", older "torch_dtype".
  c.torch_dtype = json_string(doc, "torch_dtype", what, json_string(doc, "dtype", what, ""));
  std::vector<std::int64_t> bos = parse_token_ids(doc, "bos_token_id", what);
  if (bos.size() > 1) fail_input("{}: field 'bos_token_id': expected one id, got a list", what);
  if (!bos.empty()) c.bos_token_id = bos[0];
  c.eos_token_ids = parse_token_ids(doc, "eos_token_id", what);
  return c;
}

}  // namespace

ModelConfig parse_model_config(const json& doc, std::string_view what) {
  if (!doc.is_object()) fail_input("{}: expected a JSON object, got {}", what, doc.type_name());
  std::string arch = architecture_of(doc, what);
  if (arch != kGemma3Multimodal) return parse_text_config(doc, std::move(arch), what);
  // The text model of a vision-language checkpoint: text_config plus the
  // top-level fields that apply to it.
  auto it = doc.find("text_config");
  if (it == doc.end() || !it->is_object())
    fail_input("{}: field 'text_config': expected an object ({} keeps its text model there)", what,
               kGemma3Multimodal);
  json text = *it;
  for (const char* key :
       {"tie_word_embeddings", "torch_dtype", "dtype", "bos_token_id", "eos_token_id"}) {
    if (doc.contains(key) && !text.contains(key)) text[key] = doc[key];
  }
  text.erase("architectures");
  text["model_type"] = "gemma3_text";
  ModelConfig c = parse_text_config(text, "Gemma3ForCausalLM", std::string(what) + ": text_config");
  if (c.final_logit_softcapping)
    fail(ErrorKind::kUnsupported,
         "{}: text_config: field 'final_logit_softcapping': not supported in a {} checkpoint "
         "(Transformers versions disagree on applying it)",
         what, kGemma3Multimodal);
  c.text_of_multimodal = true;
  return c;
}

ModelConfig load_model_config(const std::filesystem::path& config_json) {
  return parse_model_config(read_json_file(config_json), config_json.string());
}

bool is_sliding_layer(const ModelConfig& c, std::int64_t layer) {
  return c.sliding_window && layer >= 0 &&
         layer < static_cast<std::int64_t>(c.sliding_layers.size()) &&
         c.sliding_layers[static_cast<std::size_t>(layer)];
}

std::int64_t rotary_dim(const ModelConfig& c) {
  return static_cast<std::int64_t>(static_cast<double>(c.head_dim) * c.partial_rotary_factor);
}

}  // namespace enclave
