// inspect_model / format_inspect (declared in engine.h): a summary of a model
// directory from config.json and the safetensors headers, without loading
// any weights, so it is instant even for a 70B model.
#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"
#include "model/engine.h"
#include "model/weight_files.h"

namespace enclave {
namespace {

using nlohmann::json;

std::string rope_scaling_text(const RopeScaling& rs) {
  switch (rs.type) {
    case RopeScalingType::kNone:
      return "none";
    case RopeScalingType::kLinear:
      return fmt::format("linear x{}", rs.factor);
    case RopeScalingType::kLlama3:
      return fmt::format("llama3 x{} (low {}, high {}, original {})", rs.factor, rs.low_freq_factor,
                         rs.high_freq_factor, rs.original_max_position_embeddings);
    case RopeScalingType::kLongRope:
      return fmt::format("longrope x{:.3g} (original {}, attention factor {:.4g})", rs.factor,
                         rs.original_max_position_embeddings, rs.attention_factor);
  }
  return "none";
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} {}", bytes, units[u])
                : fmt::format("{:.1f} {}", bytes, units[u]);
}

std::string value_text(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  return v.dump();
}

// What sets the family apart, for the summary ("q/k norm", ...).
json family_features(const ModelConfig& c) {
  json out = json::array();
  if (c.activation == Activation::kGeluTanh) out.push_back("GeGLU (gelu tanh)");
  if (c.gemma_norm) out.push_back("norms scaled by 1 + weight");
  if (!checkpoint_names(c).attn_out_norm.empty()) out.push_back("norms after attention and MLP");
  if (c.qk_norm) out.push_back("q/k norm");
  if (c.scale_embeddings) out.push_back("embeddings x sqrt(hidden)");
  if (c.query_pre_attn_scalar)
    out.push_back(fmt::format("attention scale {}^-0.5", *c.query_pre_attn_scalar));
  if (c.attn_logit_softcapping)
    out.push_back(fmt::format("attention soft-cap {}", *c.attn_logit_softcapping));
  if (c.final_logit_softcapping)
    out.push_back(fmt::format("final soft-cap {}", *c.final_logit_softcapping));
  if (c.rope_local_theta) out.push_back(fmt::format("local rope theta {}", *c.rope_local_theta));
  if (c.partial_rotary_factor < 1.0)
    out.push_back(fmt::format("partial rotary {}", c.partial_rotary_factor));
  if (!checkpoint_names(c).qkv.empty()) out.push_back("fused qkv and gate/up");
  if (c.text_of_multimodal) out.push_back("text model of a vision-language checkpoint");
  return out;
}

std::int64_t count_sliding(const ModelConfig& c) {
  std::int64_t n = 0;
  for (std::int64_t i = 0; i < c.n_layer; ++i) n += is_sliding_layer(c, i) ? 1 : 0;
  return n;
}

}  // namespace

json inspect_model(const std::filesystem::path& dir, bool with_tokenizer) {
  if (!std::filesystem::is_directory(dir)) {
    fail(ErrorKind::kNotFound, "{}: model directory does not exist", dir.string());
  }
  const std::filesystem::path config_path = dir / "config.json";
  if (!std::filesystem::exists(config_path))
    fail(ErrorKind::kNotFound, "{}: missing config.json", dir.string());
  const ModelConfig c = load_model_config(config_path);
  WeightFiles files(dir);

  json dtypes = json::object();
  std::int64_t n_parameters = 0;
  std::uint64_t n_bytes = 0;
  for (const auto& [name, ref] : files.tensors()) {
    if (ends_with(name, "rotary_emb.inv_freq")) continue;
    if (name == "lm_head.weight" && c.tie_word_embeddings) continue;
    const std::string dtype(dtype_safetensors_name(ref.info->dtype));
    json& entry = dtypes[dtype];
    if (entry.is_null()) entry = {{"tensors", 0}, {"bytes", 0}};
    entry["tensors"] = entry["tensors"].get<std::int64_t>() + 1;
    entry["bytes"] = entry["bytes"].get<std::uint64_t>() + ref.info->n_bytes();
    n_parameters += static_cast<std::int64_t>(ref.info->n_elements());
    n_bytes += ref.info->n_bytes();
  }

  json summary = {
      {"dir", dir.string()},
      {"architecture", c.architecture},
      {"model_type", c.model_type},
      {"n_parameters", n_parameters},
      {"n_bytes", n_bytes},
      {"n_files", files.files().size()},
      {"dtypes", dtypes},
      {"torch_dtype", c.torch_dtype.empty() ? json(nullptr) : json(c.torch_dtype)},
      {"n_layer", c.n_layer},
      {"hidden_size", c.hidden_size},
      {"intermediate_size", c.intermediate_size},
      {"n_head", c.n_head},
      {"n_kv_head", c.n_kv_head},
      {"head_dim", c.head_dim},
      {"vocab_size", c.vocab_size},
      {"context", c.max_position_embeddings},
      {"rope_theta", c.rope_theta},
      {"rope_scaling", rope_scaling_text(c.rope_scaling)},
      {"sliding_window", c.sliding_window ? json(*c.sliding_window) : json(nullptr)},
      {"sliding_layers", count_sliding(c)},
      {"features", family_features(c)},
      {"tied_embeddings", c.tie_word_embeddings},
      {"tokenizer", nullptr},
      {"chat_template", nullptr},
  };
  if (!with_tokenizer) return summary;
  std::unique_ptr<Tokenizer> tokenizer;
  try {
    tokenizer = load_tokenizer(dir);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kNotFound) throw;
  }
  if (tokenizer) {
    summary["tokenizer"] = {{"kind", tokenizer->kind()}, {"vocab_size", tokenizer->vocab_size()}};
    try {
      std::optional<ChatTemplate> tmpl = load_chat_template(dir);
      if (tmpl) summary["chat_template"] = describe_chat_template(*tmpl);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kInvalidInput) throw;
      summary["chat_template"] = fmt::format("invalid: {}", e.what());
    }
  }
  return summary;
}

std::string format_inspect(const json& s) {
  std::vector<std::pair<std::string, std::string>> rows;
  auto add = [&](const std::string& label, const std::string& key) {
    if (s.contains(key)) rows.emplace_back(label, value_text(s[key]));
  };
  add("directory", "dir");
  add("architecture", "architecture");
  add("model type", "model_type");
  if (s.contains("n_parameters")) {
    const double n = s["n_parameters"].get<double>();
    rows.emplace_back("parameters",
                      n >= 1e9   ? fmt::format("{:.2f}B ({})", n / 1e9, s["n_parameters"].dump())
                      : n >= 1e6 ? fmt::format("{:.1f}M ({})", n / 1e6, s["n_parameters"].dump())
                                 : s["n_parameters"].dump());
  }
  if (s.contains("n_bytes")) {
    rows.emplace_back("weights",
                      fmt::format("{} in {} file(s)", human_bytes(s["n_bytes"].get<double>()),
                                  s.value("n_files", 0)));
  }
  if (s.contains("dtypes")) {
    for (const auto& [dtype, entry] : s["dtypes"].items()) {
      rows.emplace_back("  " + dtype, fmt::format("{} tensors, {}", entry.value("tensors", 0),
                                                  human_bytes(entry.value("bytes", 0.0))));
    }
  }
  add("stored dtype", "torch_dtype");
  add("layers", "n_layer");
  add("hidden size", "hidden_size");
  add("intermediate size", "intermediate_size");
  add("attention heads", "n_head");
  add("kv heads", "n_kv_head");
  add("head dim", "head_dim");
  add("vocab size", "vocab_size");
  add("context", "context");
  add("rope theta", "rope_theta");
  add("rope scaling", "rope_scaling");
  add("sliding window", "sliding_window");
  if (s.value("sliding_layers", 0) > 0)
    rows.emplace_back("sliding layers",
                      fmt::format("{} of {}", s.value("sliding_layers", 0), s.value("n_layer", 0)));
  if (s.contains("features") && !s["features"].empty()) {
    std::string text;
    for (const json& f : s["features"]) text += (text.empty() ? "" : ", ") + f.get<std::string>();
    rows.emplace_back("features", text);
  }
  add("tied embeddings", "tied_embeddings");
  if (s.contains("tokenizer")) {
    const json& t = s["tokenizer"];
    rows.emplace_back("tokenizer", t.is_object()
                                       ? fmt::format("{} ({} tokens)", t.value("kind", "?"),
                                                     t.value("vocab_size", 0))
                                       : "none");
  }
  add("chat template", "chat_template");
  if (s.contains("compute_dtype_auto")) {
    const nlohmann::json& d = s["compute_dtype_auto"];
    rows.emplace_back("compute dtype", fmt::format("{} with --dtype auto ({})",
                                                   d.value("dtype", ""), d.value("reason", "")));
  }

  std::size_t width = 0;
  for (const auto& [label, value] : rows) width = std::max(width, label.size());
  std::string out;
  for (const auto& [label, value] : rows) out += fmt::format("{:<{}}  {}\n", label, width, value);
  return out;
}

}  // namespace enclave
