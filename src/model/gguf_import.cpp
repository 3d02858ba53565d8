#include "model/gguf_import.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <map>
#include <numbers>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "core/staging_dir.h"
#include "model/config.h"
#include "model/float_convert.h"
#include "model/gguf_names.h"
#include "model/gguf_reader.h"
#include "model/safetensors.h"
#include "text/bpe_trainer.h"
#include "text/sentencepiece_json.h"
#include "text/split_patterns.h"

namespace enclave {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::uint64_t kShardBytes = std::uint64_t{2} << 30;
constexpr std::uint64_t kMaxLayers = 10'000;

struct ArchInfo {
  const char* gguf;
  const char* hf;
};
constexpr ArchInfo kArchs[] = {{"llama", "LlamaForCausalLM"},   {"qwen2", "Qwen2ForCausalLM"},
                               {"qwen3", "Qwen3ForCausalLM"},   {"gemma2", "Gemma2ForCausalLM"},
                               {"gemma3", "Gemma3ForCausalLM"}, {"exaone", "ExaoneForCausalLM"},
                               {"phi3", "Phi3ForCausalLM"}};

std::vector<float> f32_tensor(const GgufTensor& t) {
  std::vector<float> out(t.n_elements);
  ggml_decode(t.type, t.data, out);
  return out;
}

// Recovers llama3 rope_scaling from llama.cpp's rope_freqs divisors: 1 for
// high frequencies, `factor` for low ones, 1 / ((1 - s) / factor + s) in
// between with s linear in 1 / wavelength. Only the thresholds are fixed by
// the divisors, so low_freq_factor is taken as 1 (as Llama 3.1 has it).
json llama3_from_factors(const std::vector<float>& factors, double theta, std::int64_t dim,
                         const fs::path& file) {
  const double factor = *std::max_element(factors.begin(), factors.end());
  std::vector<std::pair<double, double>> medium;  // (1 / wavelength, s)
  double longest_high = 0, shortest_low = 1e300;
  for (std::size_t i = 0; i < factors.size(); ++i) {
    const double freq =
        1.0 / std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(dim));
    const double wavelen = 2 * std::numbers::pi / freq;
    if (std::abs(factors[i] - 1.0) < 1e-6) {
      longest_high = std::max(longest_high, wavelen);
    } else if (std::abs(factors[i] - factor) < 1e-6 * factor) {
      shortest_low = std::min(shortest_low, wavelen);
    } else {
      medium.emplace_back(1.0 / wavelen, (factor / factors[i] - 1) / (factor - 1));
    }
  }
  if (medium.size() < 2) {
    fail(ErrorKind::kUnsupported,
         "{}: rope_freqs.weight: fewer than two interpolated frequencies, so the llama3 "
         "scaling parameters cannot be recovered",
         file.string());
  }
  const auto [x0, s0] = medium.front();
  const auto [x1, s1] = medium.back();
  const double a = (s1 - s0) / (x1 - x0);  // s = a / wavelength + b
  const double b = s0 - a * x0;
  const double low = 1.0, high = low - low / b, context = -a * low / b;
  return {{"rope_type", "llama3"},
          {"factor", factor},
          {"low_freq_factor", low},
          {"high_freq_factor", std::round(high * 1e6) / 1e6},
          {"original_max_position_embeddings", static_cast<std::int64_t>(std::llround(context))}};
}

json config_of(const GgufFile& f, const std::string& arch, const std::string& hf_arch) {
  const std::string a = arch + ".";
  const std::uint64_t n_layer = f.get_uint(a + "block_count");
  if (n_layer == 0 || n_layer > kMaxLayers)
    fail_input("{}: metadata '{}block_count': {} is out of range [1, {}]", f.path().string(), a,
               n_layer, kMaxLayers);
  const GgufTensor* embd = f.tensor("token_embd.weight");
  if (embd == nullptr || embd->shape.size() != 2)
    fail_input("{}: tensor 'token_embd.weight' is missing or not a matrix", f.path().string());
  const std::uint64_t hidden = f.get_uint(a + "embedding_length");
  const std::uint64_t heads = f.get_uint(a + "attention.head_count");
  if (heads == 0 || hidden == 0)
    fail_input("{}: metadata: embedding_length and head_count must be positive", f.path().string());
  const std::uint64_t head_dim = f.get_uint(a + "attention.key_length", hidden / heads);
  json c = {{"architectures", {hf_arch}},
            {"vocab_size", embd->shape[0]},
            {"hidden_size", hidden},
            {"intermediate_size", f.get_uint(a + "feed_forward_length")},
            {arch == "exaone" ? "num_layers" : "num_hidden_layers", n_layer},
            {"num_attention_heads", heads},
            {"num_key_value_heads", f.get_uint(a + "attention.head_count_kv", heads)},
            {"head_dim", head_dim},
            {"max_position_embeddings", f.get_uint(a + "context_length")},
            {"rope_theta", f.get_float(a + "rope.freq_base", 10000.0)},
            {"tie_word_embeddings", f.tensor("output.weight") == nullptr}};
  const double eps = f.get_float(a + "attention.layer_norm_rms_epsilon", 1e-6);
  c[arch == "exaone" ? "layer_norm_epsilon" : "rms_norm_eps"] = static_cast<float>(eps);
  if (arch == "exaone") {
    c.erase("head_dim");
    c["activation_function"] = "silu";
  }
  const std::uint64_t rot = f.get_uint(a + "rope.dimension_count", head_dim);
  if (arch == "phi3" && rot != head_dim)
    c["partial_rotary_factor"] = static_cast<double>(rot) / static_cast<double>(head_dim);
  if (f.find(a + "rope.scaling.type") && f.get_string(a + "rope.scaling.type") == "linear")
    c["rope_scaling"] = {{"rope_type", "linear"},
                         {"factor", f.get_float(a + "rope.scaling.factor", 1.0)}};
  if (f.find("enclave.rope_scaling")) {
    c["rope_scaling"] = parse_json(f.get_string("enclave.rope_scaling"), "enclave.rope_scaling");
  } else if (const GgufTensor* freqs = f.tensor("rope_freqs.weight")) {
    c["rope_scaling"] = llama3_from_factors(f32_tensor(*freqs), c["rope_theta"].get<double>(),
                                            static_cast<std::int64_t>(rot), f.path());
  }
  if (const GgufTensor* lf = f.tensor("rope_factors_long.weight")) {
    const GgufTensor* sf = f.tensor("rope_factors_short.weight");
    if (sf == nullptr)
      fail_input("{}: rope_factors_long.weight without rope_factors_short.weight",
                 f.path().string());
    auto as_double = [&](const GgufTensor& t) {
      std::vector<float> v = f32_tensor(t);
      return std::vector<double>(v.begin(), v.end());
    };
    c["rope_scaling"] = {{"type", "longrope"},
                         {"short_factor", as_double(*sf)},
                         {"long_factor", as_double(*lf)},
                         {"attention_factor", f.get_float(a + "rope.scaling.attn_factor", 1.0)}};
    c["original_max_position_embeddings"] =
        f.get_uint(a + "rope.scaling.original_context_length", c["max_position_embeddings"]);
  }
  // A window as long as the context (how export keeps Gemma 2's inert) is none.
  const std::uint64_t window = f.get_uint(a + "attention.sliding_window", 0);
  if (window > 0 && window < c["max_position_embeddings"].get<std::uint64_t>())
    c["sliding_window"] = window;
  if (arch == "gemma2" || arch == "gemma3") {
    c["query_pre_attn_scalar"] = head_dim;  // what llama.cpp scales by
    c["hidden_activation"] = "gelu_pytorch_tanh";
    c["attn_logit_softcapping"] = nullptr;
    c["final_logit_softcapping"] = nullptr;
    if (f.find(a + "attn_logit_softcapping") && arch == "gemma2")
      c["attn_logit_softcapping"] = f.get_float(a + "attn_logit_softcapping", 0);
    if (f.find(a + "final_logit_softcapping"))
      c["final_logit_softcapping"] = f.get_float(a + "final_logit_softcapping", 0);
    if (arch == "gemma3") {
      c["rope_local_base_freq"] = 10000.0;
      c["sliding_window_pattern"] = 6;
    }
    if (!c.contains("sliding_window")) c["sliding_window"] = c["max_position_embeddings"];
  }
  if (f.tensor("blk.0.attn_q.bias") != nullptr && (arch == "llama" || arch == "qwen3"))
    c["attention_bias"] = true;
  if (f.tensor("blk.0.ffn_gate.bias") != nullptr && arch == "llama") c["mlp_bias"] = true;
  return c;
}

nlohmann::ordered_json byte_level_tokenizer(const GgufFile& f,
                                            const std::vector<std::string>& tokens,
                                            const std::vector<std::int32_t>& types) {
  using nlohmann::ordered_json;
  const std::string pre =
      f.find("tokenizer.ggml.pre") ? f.get_string("tokenizer.ggml.pre") : "gpt-2";
  ordered_json pre_tokenizer;
  if (pre == "llama-bpe" || pre == "llama3") {
    pre_tokenizer = split_byte_level_pre_tokenizer(SplitPattern::kLlama3);
  } else if (pre == "qwen2") {
    pre_tokenizer = split_byte_level_pre_tokenizer(SplitPattern::kQwen2);
  } else if (pre == "gpt-2" || pre == "default") {
    pre_tokenizer = {{"type", "ByteLevel"},
                     {"add_prefix_space", false},
                     {"trim_offsets", true},
                     {"use_regex", true}};
  } else {
    fail(ErrorKind::kUnsupported,
         "{}: tokenizer.ggml.pre '{}' is not a pre-tokenizer Enclave imports (llama-bpe, qwen2, "
         "gpt-2)",
         f.path().string(), pre);
  }
  ordered_json vocab = ordered_json::object();
  ordered_json added = ordered_json::array();
  for (std::size_t id = 0; id < tokens.size(); ++id) {
    vocab[tokens[id]] = id;
    if (types[id] == 3 || types[id] == 4) {
      added.push_back({{"id", id},
                       {"content", tokens[id]},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", types[id] == 4},
                       {"special", types[id] == 3}});
    }
  }
  const std::vector<std::string> merges = f.find("tokenizer.ggml.merges")
                                              ? f.get_strings("tokenizer.ggml.merges")
                                              : std::vector<std::string>{};
  return byte_level_bpe_json(vocab, merges, added, pre_tokenizer, nullptr, pre == "llama-bpe");
}

// A "llama" (SentencePiece) vocabulary as transformers' LlamaConverter
// writes it: merges recovered from the scores (text/sentencepiece_json.h).
nlohmann::ordered_json sentencepiece_tokenizer(const GgufFile& f,
                                               const std::vector<std::string>& tokens,
                                               const std::vector<std::int32_t>& types) {
  const GgufValue* scores = f.find("tokenizer.ggml.scores");
  if (scores == nullptr || !scores->is_array() ||
      std::get<GgufArray>(scores->v).size() < tokens.size())
    fail_input("{}: tokenizer.ggml.scores: expected {} numbers (one per token)", f.path().string(),
               tokens.size());
  const auto& items = std::get<GgufArray>(scores->v);
  std::vector<SpPiece> pieces;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto* score = std::get_if<double>(&items[i].v);
    if (score == nullptr || !std::isfinite(*score))
      fail_input("{}: tokenizer.ggml.scores[{}]: not a finite number", f.path().string(), i);
    pieces.push_back({tokens[i], static_cast<float>(*score), static_cast<SpPieceType>(types[i])});
  }
  bool add_space_prefix = true;  // llama.cpp's default for this vocabulary
  if (const GgufValue* v = f.find("tokenizer.ggml.add_space_prefix"))
    if (const auto* b = std::get_if<bool>(&v->v)) add_space_prefix = *b;
  try {
    return sentencepiece_bpe_json(pieces, add_space_prefix);
  } catch (const Error& e) {
    fail_input("{}: tokenizer.ggml.tokens: {}", f.path().string(), e.what());
  }
}

void write_tokenizer(const GgufFile& f, const fs::path& dir, std::uint64_t vocab_size) {
  if (!f.find("tokenizer.ggml.model")) return;  // weights only
  const std::string model = f.get_string("tokenizer.ggml.model");
  if (model != "gpt2" && model != "llama")
    fail(ErrorKind::kUnsupported,
         "{}: tokenizer.ggml.model '{}': only byte-level BPE ('gpt2') and SentencePiece ('llama') "
         "vocabularies are imported",
         f.path().string(), model);
  std::vector<std::string> tokens = f.get_strings("tokenizer.ggml.tokens");
  std::vector<std::int32_t> types(tokens.size(), 1);
  if (const GgufValue* t = f.find("tokenizer.ggml.token_type")) {
    if (!t->is_array() || std::get<GgufArray>(t->v).size() != tokens.size())
      fail_input("{}: tokenizer.ggml.token_type: expected {} integers (one per token)",
                 f.path().string(), tokens.size());
    const auto& items = std::get<GgufArray>(t->v);
    for (std::size_t i = 0; i < items.size(); ++i) {
      const auto* v = std::get_if<std::int64_t>(&items[i].v);
      if (v == nullptr || *v < 1 || *v > 6)
        fail_input("{}: tokenizer.ggml.token_type[{}]: not a llama.cpp token type",
                   f.path().string(), i);
      types[i] = static_cast<std::int32_t>(*v);
      const std::string& piece = tokens[i];
      auto hex = [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)) != 0; };
      if (types[i] == 6 && !(piece.size() == 6 && piece.starts_with("<0x") && hex(piece[3]) &&
                             hex(piece[4]) && piece[5] == '>'))
        fail_input("{}: tokenizer.ggml.tokens[{}]: '{}' is marked a byte token but is not <0xHH>",
                   f.path().string(), i, piece);
    }
  }
  if (tokens.size() > vocab_size)
    fail_input("{}: tokenizer.ggml.tokens has {} tokens, more than the embedding's {} rows",
               f.path().string(), tokens.size(), vocab_size);
  // Trailing padding rows ("[PAD7]", unused) are not tokens the tokenizer produces.
  while (!tokens.empty() && types.back() == 5) {
    tokens.pop_back();
    types.pop_back();
  }
  const nlohmann::ordered_json doc = model == "llama" ? sentencepiece_tokenizer(f, tokens, types)
                                                      : byte_level_tokenizer(f, tokens, types);
  write_file_atomic(dir / "tokenizer.json", doc.dump() + "\n");
  json config = {{"tokenizer_class", "PreTrainedTokenizerFast"}};
  auto token_at = [&](const char* key) -> std::optional<std::string> {
    if (!f.find(key)) return std::nullopt;
    const std::uint64_t id = f.get_uint(key);
    if (id >= tokens.size())
      fail_input("{}: {}: id {} is outside the vocabulary", f.path().string(), key, id);
    return tokens[id];
  };
  if (auto bos = token_at("tokenizer.ggml.bos_token_id")) config["bos_token"] = *bos;
  if (auto eos = token_at("tokenizer.ggml.eos_token_id")) config["eos_token"] = *eos;
  if (f.find("tokenizer.ggml.add_bos_token")) {
    const GgufValue* v = f.find("tokenizer.ggml.add_bos_token");
    if (const auto* b = std::get_if<bool>(&v->v)) config["add_bos_token"] = *b;
  }
  if (f.find("tokenizer.chat_template"))
    config["chat_template"] = f.get_string("tokenizer.chat_template");
  write_file_atomic(dir / "tokenizer_config.json", config.dump(2) + "\n");
}

// A quantised matrix as it is, its rows in Hugging Face order: each row is
// whole blocks, so un-permuting rows moves bytes only.
void add_quantized(GgufWriter& out, const ModelConfig& c, const std::string& gguf_name,
                   const ParameterShape& p, const GgufTensor& t) {
  const std::int64_t heads = gguf_permuted_heads(c, gguf_name);
  const auto rows = static_cast<std::int64_t>(p.shape[0]);
  out.add_tensor(p.name, t.type, {p.shape.begin(), p.shape.end()},
                 [&t, heads, rows](std::vector<std::uint8_t>& bytes) {
                   gguf_append_rows(t.data, heads, rows, /*inverse=*/true, bytes);
                 });
}

}  // namespace

GgufImportResult import_gguf(const fs::path& gguf, const fs::path& out,
                             const GgufImportOptions& options) {
  const GgufFile f(gguf);
  const std::string arch = f.get_string("general.architecture");
  const ArchInfo* info = nullptr;
  for (const ArchInfo& a : kArchs)
    if (arch == a.gguf) info = &a;
  if (info == nullptr)
    fail(ErrorKind::kUnsupported,
         "{}: general.architecture '{}' is not one Enclave imports (llama, qwen2, qwen3, gemma2, "
         "gemma3, exaone, phi3)",
         gguf.string(), arch);
  const json config_doc = config_of(f, arch, info->hf);
  const ModelConfig c = parse_model_config(config_doc, gguf.string() + " (metadata)");

  StagingDir staged(out);
  std::vector<ParameterShape> shapes = parameter_shapes(c);
  std::vector<std::vector<std::uint8_t>> buffers;
  std::vector<TensorToWrite> shard;
  std::uint64_t shard_bytes = 0;
  json weight_map = json::object();
  std::vector<std::pair<std::string, std::vector<std::string>>> shards;  // file, names
  std::size_t used = 0;
  GgufWriter quantized;
  auto flush = [&] {
    if (shard.empty()) return;
    const std::string name = fmt::format("model-{:05d}.safetensors", shards.size() + 1);
    write_safetensors(staged.path() / name, shard, {{"format", "pt"}});
    std::vector<std::string> names;
    for (const TensorToWrite& t : shard) names.push_back(t.name);
    shards.emplace_back(name, std::move(names));
    shard.clear();
    buffers.clear();
    shard_bytes = 0;
  };
  for (const ParameterShape& p : shapes) {
    const std::optional<std::string> name = gguf_tensor_name(c, p.name);
    const GgufTensor* t = name ? f.tensor(*name) : nullptr;
    if (t == nullptr)
      fail_input("{}: missing tensor '{}' (for {})", gguf.string(), name.value_or(p.name), p.name);
    if (t->shape != std::vector<std::uint64_t>(p.shape.begin(), p.shape.end()))
      fail_input("{}: tensor '{}': shape [{}] does not match the metadata's [{}]", gguf.string(),
                 *name, fmt::join(t->shape, ", "), fmt::join(p.shape, ", "));
    ++used;
    // The types model/quant_kernels.h runs (named here: the fuzz replay
    // library builds this file without the kernels).
    if (options.keep_quantized && p.shape.size() == 2 &&
        (t->type == GgmlType::kQ8_0 || t->type == GgmlType::kQ4_0 || t->type == GgmlType::kQ4_K ||
         t->type == GgmlType::kQ6_K)) {
      add_quantized(quantized, c, *name, p, *t);
      continue;
    }
    std::vector<float> values = f32_tensor(*t);
    if (const std::int64_t heads = gguf_permuted_heads(c, *name); heads > 0) {
      values = gguf_permute_rows(values, heads, p.shape[0], p.shape.size() == 2 ? p.shape[1] : 1,
                                 /*inverse=*/true);
    }
    if (gguf_norm_plus_one(c, p.name))
      for (float& x : values) x -= 1.0f;
    const DType dtype = t->type == GgmlType::kF16    ? DType::kF16
                        : t->type == GgmlType::kBF16 ? DType::kBF16
                                                     : DType::kF32;
    std::vector<std::uint8_t>& bytes = buffers.emplace_back(values.size() * dtype_size(dtype));
    from_f32(values, dtype, bytes);
    if (shard_bytes + bytes.size() > kShardBytes) {
      // Keep the new buffer: move it out, flush the rest, put it back.
      std::vector<std::uint8_t> keep = std::move(bytes);
      buffers.pop_back();
      flush();
      buffers.push_back(std::move(keep));
    }
    shard.push_back({p.name, dtype, p.shape, buffers.back()});
    shard_bytes += buffers.back().size();
  }
  // Tensors the model does not use (other than rotary factors) mean a layout we do not know.
  for (const GgufTensor& t : f.tensors()) {
    if (t.name == "rope_freqs.weight" || t.name.starts_with("rope_factors_")) ++used;
  }
  if (used != f.tensors().size())
    fail(ErrorKind::kUnsupported, "{}: {} tensors are not ones the '{}' architecture has",
         gguf.string(), f.tensors().size() - used, arch);
  flush();
  if (shards.size() == 1) {
    fs::rename(staged.path() / shards[0].first, staged.path() / "model.safetensors");
  } else {
    for (const auto& [file, names] : shards)
      for (const std::string& n : names) weight_map[n] = file;
    write_file_atomic(
        staged.path() / "model.safetensors.index.json",
        json{{"metadata", json::object()}, {"weight_map", weight_map}}.dump(2) + "\n");
  }
  if (quantized.n_tensors() > 0) quantized.write(staged.path() / kQuantWeightsFile);
  json doc = config_doc;
  doc["torch_dtype"] = "float32";
  write_file_atomic(staged.path() / "config.json", doc.dump(2) + "\n");
  write_tokenizer(f, staged.path(), c.vocab_size);
  staged.commit();
  return {info->hf, used, quantized.n_tensors()};
}

}  // namespace enclave
