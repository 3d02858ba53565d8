#include "model/gguf_export.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <memory>
#include <numbers>
#include <optional>
#include <set>

#include "core/error.h"
#include "core/json.h"
#include "model/config.h"
#include "model/float_convert.h"
#include "model/gguf_import.h"
#include "model/gguf_kquants.h"
#include "model/gguf_names.h"
#include "model/gguf_reader.h"
#include "model/weight_files.h"
#include "text/chat_template.h"
#include "text/sentencepiece_json.h"
#include "text/split_patterns.h"
#include "text/tokenizer.h"

namespace enclave {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// llama.cpp's token types.
enum TokenType : std::int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6
};

[[noreturn]] void cannot(const fs::path& dir, const std::string& arch, const std::string& why) {
  fail(ErrorKind::kUnsupported, "{}: cannot export as GGUF: llama.cpp's '{}' architecture {}",
       dir.string(), arch, why);
}

// What llama.cpp's architecture hard-codes and the model must match.
void check_expressible(const ModelConfig& c, const fs::path& dir, const std::string& arch) {
  const bool gemma = c.family == Family::kGemma2 || c.family == Family::kGemma3;
  if ((c.family == Family::kQwen2 || c.family == Family::kQwen3) && c.sliding_window)
    cannot(dir, arch, "has no sliding window (the model sets use_sliding_window)");
  if (c.rope_scaling.type == RopeScalingType::kLlama3 && arch != "llama" && arch != "exaone")
    cannot(dir, arch, "has no llama3 rope scaling");
  if (gemma) {
    if (c.query_pre_attn_scalar && *c.query_pre_attn_scalar != static_cast<double>(c.head_dim))
      cannot(dir, arch,
             fmt::format("scales attention by head_dim^-0.5 (the model's query_pre_attn_scalar "
                         "is {}, head_dim {})",
                         *c.query_pre_attn_scalar, c.head_dim));
    const std::int64_t pattern = c.family == Family::kGemma2 ? 2 : 6;
    for (std::int64_t i = 0; c.sliding_window && i < c.n_layer; ++i) {
      if (is_sliding_layer(c, i) != ((i + 1) % pattern != 0))
        cannot(dir, arch,
               fmt::format("fixes the layer pattern at {} local : 1 global (layer {} differs)",
                           pattern - 1, i));
    }
    if (c.family == Family::kGemma3 && c.rope_local_theta && *c.rope_local_theta != 10000.0)
      cannot(dir, arch, "fixes the local rotary base at 10000");
    if (c.family == Family::kGemma3 && !c.sliding_window)
      cannot(dir, arch, "needs a sliding window");
  }
}

std::vector<float> llama3_rope_factors(const ModelConfig& c) {
  const RopeScaling& rs = c.rope_scaling;
  const std::int64_t dim = rotary_dim(c);
  const double old_context = static_cast<double>(rs.original_max_position_embeddings);
  const double low_wavelen = old_context / rs.low_freq_factor;
  const double high_wavelen = old_context / rs.high_freq_factor;
  std::vector<float> out;
  for (std::int64_t i = 0; i < dim; i += 2) {
    const float freq = 1.0f / std::pow(static_cast<float>(c.rope_theta),
                                       static_cast<float>(i) / static_cast<float>(dim));
    const double wavelen = 2 * std::numbers::pi / freq;
    if (wavelen < high_wavelen) {
      out.push_back(1.0f);
    } else if (wavelen > low_wavelen) {
      out.push_back(static_cast<float>(rs.factor));
    } else {
      const double smooth =
          (old_context / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
      out.push_back(static_cast<float>(1.0 / ((1 - smooth) / rs.factor + smooth)));
    }
  }
  return out;
}

void write_hparams(GgufWriter& w, const ModelConfig& c, const std::string& a) {
  w.add_u32(a + ".vocab_size", static_cast<std::uint32_t>(c.vocab_size));
  w.add_u32(a + ".context_length", static_cast<std::uint32_t>(c.max_position_embeddings));
  w.add_u32(a + ".embedding_length", static_cast<std::uint32_t>(c.hidden_size));
  w.add_u32(a + ".block_count", static_cast<std::uint32_t>(c.n_layer));
  w.add_u32(a + ".feed_forward_length", static_cast<std::uint32_t>(c.intermediate_size));
  w.add_u32(a + ".attention.head_count", static_cast<std::uint32_t>(c.n_head));
  w.add_u32(a + ".attention.head_count_kv", static_cast<std::uint32_t>(c.n_kv_head));
  w.add_u32(a + ".attention.key_length", static_cast<std::uint32_t>(c.head_dim));
  w.add_u32(a + ".attention.value_length", static_cast<std::uint32_t>(c.head_dim));
  w.add_f32(a + ".attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps));
  w.add_f32(a + ".rope.freq_base", static_cast<float>(c.rope_theta));
  w.add_u32(a + ".rope.dimension_count", static_cast<std::uint32_t>(rotary_dim(c)));
  const RopeScaling& rs = c.rope_scaling;
  if (rs.type == RopeScalingType::kLinear) {
    w.add_string(a + ".rope.scaling.type", "linear");
    w.add_f32(a + ".rope.scaling.factor", static_cast<float>(rs.factor));
  } else if (rs.type == RopeScalingType::kLongRope) {
    w.add_f32(a + ".rope.scaling.attn_factor", static_cast<float>(rs.attention_factor));
    w.add_u32(a + ".rope.scaling.original_context_length",
              static_cast<std::uint32_t>(rs.original_max_position_embeddings));
  }
  if (c.sliding_window) {
    w.add_u32(a + ".attention.sliding_window", static_cast<std::uint32_t>(*c.sliding_window));
  } else if (c.family == Family::kGemma2) {
    // llama.cpp's Gemma 2 defaults to a 4096 window; the context keeps it inert.
    w.add_u32(a + ".attention.sliding_window",
              static_cast<std::uint32_t>(c.max_position_embeddings));
  }
  if (c.attn_logit_softcapping)
    w.add_f32(a + ".attn_logit_softcapping", static_cast<float>(*c.attn_logit_softcapping));
  if (c.final_logit_softcapping)
    w.add_f32(a + ".final_logit_softcapping", static_cast<float>(*c.final_logit_softcapping));
}

struct Vocab {
  std::string model;  // "gpt2" or "llama"
  std::string pre;
  std::vector<std::string> tokens;
  std::vector<std::int32_t> types;
  std::vector<float> scores;
  std::vector<std::string> merges;
  std::optional<bool> add_space_prefix;  // "llama": from the model, else probed
};

// A tokenizer.model-only SentencePiece BPE model (the original Llama 2 and
// Mistral releases): its pieces, scores and types as they are, padded to the
// embedding's rows.
Vocab sentencepiece_vocab(const fs::path& file, const ModelConfig& c) {
  const SpModel m = read_sentencepiece_model(file);
  if (m.model_type != 2)
    fail(ErrorKind::kUnsupported,
         "{}: cannot export as GGUF: a SentencePiece model of type {} (llama.cpp's 'llama' "
         "vocabulary is BPE, type 2)",
         file.string(), m.model_type);
  if (static_cast<std::int64_t>(m.pieces.size()) > c.vocab_size)
    fail_input("{}: {} pieces, more than the model's vocab_size {}", file.string(), m.pieces.size(),
               c.vocab_size);
  Vocab v;
  v.model = "llama";
  v.add_space_prefix = m.add_dummy_prefix;
  for (const SpPiece& p : m.pieces) {
    v.tokens.push_back(p.piece);
    v.scores.push_back(p.score);
    v.types.push_back(static_cast<std::int32_t>(p.type));
  }
  for (auto id = static_cast<std::int64_t>(m.pieces.size()); id < c.vocab_size; ++id) {
    v.tokens.push_back(fmt::format("[PAD{}]", id));
    v.types.push_back(kUnused);
    v.scores.push_back(-1e4f);
  }
  return v;
}

// llama.cpp's name for the pre-tokenizer: from the one Split regex it runs
// (Llama 3, Qwen2, GPT-2), or GPT-2's for a plain ByteLevel with its regex.
std::string pre_tokenizer_name(const json& pre, const fs::path& file) {
  std::vector<std::string> regexes;
  bool byte_level_regex = false;
  auto visit = [&](const json& p, auto& self) -> void {
    if (!p.is_object()) return;
    const std::string type = p.value("type", "");
    if (type == "Sequence") {
      for (const json& item : p.value("pretokenizers", json::array())) self(item, self);
    } else if (type == "Split" && p.contains("pattern") && p["pattern"].contains("Regex")) {
      regexes.push_back(p["pattern"]["Regex"].get<std::string>());
    } else if (type == "ByteLevel" && p.value("use_regex", true)) {
      byte_level_regex = true;
    }
  };
  visit(pre, visit);
  if (regexes.size() == 1) {
    switch (recognize_split_pattern(regexes[0]).value_or(SplitPattern::kGpt2)) {
      case SplitPattern::kLlama3:
        return "llama-bpe";
      case SplitPattern::kQwen2:
        return "qwen2";
      case SplitPattern::kGpt2:
        if (recognize_split_pattern(regexes[0])) return "gpt-2";
        break;
    }
  }
  if (regexes.empty() && byte_level_regex) return "gpt-2";
  fail(ErrorKind::kUnsupported,
       "{}: field 'pre_tokenizer': not one whose llama.cpp name is known (Llama 3, Qwen2, GPT-2)",
       file.string());
}

Vocab read_vocab(const fs::path& dir, const ModelConfig& c, const Tokenizer& tok) {
  const fs::path file = dir / "tokenizer.json";
  if (!fs::exists(file) && fs::exists(dir / "tokenizer.model"))
    return sentencepiece_vocab(dir / "tokenizer.model", c);
  if (!fs::exists(file))
    fail(ErrorKind::kUnsupported,
         "{}: cannot export as GGUF: the tokenizer is needed as tokenizer.json", dir.string());
  const json doc = read_json_file(file);
  const json& model = doc.at("model");
  Vocab v;
  const bool byte_level =
      doc.value("pre_tokenizer", json()).dump().find("ByteLevel") != std::string::npos ||
      doc.value("decoder", json()).dump().find("ByteLevel") != std::string::npos;
  v.model = byte_level ? "gpt2" : "llama";
  if (byte_level) v.pre = pre_tokenizer_name(doc.value("pre_tokenizer", json()), file);
  std::map<std::string, std::int64_t> merge_rank;
  if (auto m = model.find("merges"); m != model.end() && m->is_array()) {
    for (const json& item : *m) {
      std::string merge = item.is_array()
                              ? item[0].get<std::string>() + " " + item[1].get<std::string>()
                              : item.get<std::string>();
      if (!byte_level) {
        const std::size_t space = merge.find(' ');
        merge_rank.emplace(merge.substr(0, space) + merge.substr(space + 1),
                           static_cast<std::int64_t>(v.merges.size()));
      }
      v.merges.push_back(std::move(merge));
    }
  }
  std::set<std::string> added;
  if (auto a = doc.find("added_tokens"); a != doc.end() && a->is_array())
    for (const json& t : *a) added.insert(t.value("content", ""));
  const std::string unk = model.value("unk_token", json()).is_string()
                              ? model["unk_token"].get<std::string>()
                              : std::string();
  const std::size_t n_tok = tok.vocab_size();
  for (std::int64_t id = 0; id < c.vocab_size; ++id) {
    if (static_cast<std::size_t>(id) >= n_tok) {
      // The embedding has rows the tokenizer never produces (padding).
      v.tokens.push_back(fmt::format("[PAD{}]", id));
      v.types.push_back(kUnused);
      v.scores.push_back(-1e4f);
      continue;
    }
    const auto t = static_cast<TokenId>(id);
    std::string piece = tok.id_to_piece(t);
    std::int32_t type = kNormal;
    if (tok.is_special(t)) {
      type = kControl;
    } else if (!unk.empty() && piece == unk) {
      type = kUnknown;
    } else if (added.count(piece) != 0) {
      type = kUserDefined;
    } else if (!byte_level && piece.size() == 6 && piece.starts_with("<0x") &&
               piece.back() == '>') {
      type = kByte;
    }
    auto rank = merge_rank.find(piece);
    v.scores.push_back(rank == merge_rank.end() ? 0.0f : -static_cast<float>(rank->second + 1));
    v.tokens.push_back(std::move(piece));
    v.types.push_back(type);
  }
  return v;
}

void write_tokenizer(GgufWriter& w, const fs::path& dir, const ModelConfig& c) {
  std::unique_ptr<Tokenizer> tok = load_tokenizer(dir);
  Vocab v = read_vocab(dir, c, *tok);
  w.add_string("tokenizer.ggml.model", v.model);
  if (!v.pre.empty()) w.add_string("tokenizer.ggml.pre", v.pre);
  w.add_strings("tokenizer.ggml.tokens", v.tokens);
  w.add_i32s("tokenizer.ggml.token_type", v.types);
  if (v.model == "llama") {
    w.add_f32s("tokenizer.ggml.scores", v.scores);
    // Whether the normalizer puts "▁" before the text (Llama 2, Mistral) or
    // not (Gemma); llama.cpp assumes it does unless told.
    if (!v.add_space_prefix) {
      const std::vector<TokenId> probe = tok->encode("a", /*add_special=*/false);
      v.add_space_prefix =
          !probe.empty() && tok->id_to_piece(probe.front()).starts_with("\xE2\x96\x81");
    }
    w.add_bool("tokenizer.ggml.add_space_prefix", *v.add_space_prefix);
  }
  if (v.model == "gpt2") w.add_strings("tokenizer.ggml.merges", v.merges);
  if (tok->bos_id())
    w.add_u32("tokenizer.ggml.bos_token_id", static_cast<std::uint32_t>(*tok->bos_id()));
  if (tok->eos_id())
    w.add_u32("tokenizer.ggml.eos_token_id", static_cast<std::uint32_t>(*tok->eos_id()));
  // Whether encode(add_special) starts with BOS, as the model's tokenizer does.
  const std::vector<TokenId> probe = tok->encode("a", /*add_special=*/true);
  w.add_bool("tokenizer.ggml.add_bos_token",
             tok->bos_id() && !probe.empty() && probe.front() == *tok->bos_id());
  w.add_bool("tokenizer.ggml.add_eos_token",
             tok->eos_id() && !probe.empty() && probe.back() == *tok->eos_id());
  std::optional<ChatTemplate> tmpl = load_chat_template(dir);
  if (tmpl) w.add_string("tokenizer.chat_template", tmpl->source);
}

std::int32_t file_type(GgmlType t) {
  switch (t) {
    case GgmlType::kF32:
      return 0;
    case GgmlType::kF16:
      return 1;
    case GgmlType::kQ4_0:
      return 2;
    case GgmlType::kQ8_0:
      return 7;
    case GgmlType::kBF16:
      return 32;
    case GgmlType::kQ4_K:
      return 15;  // LLAMA_FTYPE_MOSTLY_Q4_K_M
    case GgmlType::kQ6_K:
      return 18;
  }
  return 1;
}

// llama.cpp's layer count rule for Q4_K_M (use_more_bits in llama-quant.cpp):
// the first and last eighth of the layers and every third one between.
bool more_bits(std::int64_t i, std::int64_t n) {
  return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

// The type of a matrix in a file of `type`. For q4_k_m, llama.cpp's mix
// (llama_tensor_get_type): Q6_K for the output matrix (the embeddings when
// tied), and for attn_v and ffn_down of the layers more_bits picks, Q4_K
// for the rest; Phi-3's fused attn_qkv, Q5_K in llama.cpp, is Q6_K here
// (Enclave writes no Q5_K). Rows that do not fill 256-weight blocks fall
// back to Q8_0 (llama.cpp: Q5_0 for Q4_K, Q8_0 for Q6_K), rows that do not
// fill 32 to F16.
GgmlType matrix_type(GgmlType type, const ModelConfig& c, const std::string& name,
                     std::int64_t cols) {
  if (type == GgmlType::kQ4_K) {
    std::int64_t layer = -1;
    if (name.starts_with("blk.")) layer = std::stoll(name.substr(4));
    const bool output =
        name == "output.weight" || (c.tie_word_embeddings && name == "token_embd.weight");
    if (output || name.ends_with("attn_qkv.weight") ||
        ((name.ends_with("attn_v.weight") || name.ends_with("ffn_down.weight")) &&
         more_bits(layer, c.n_layer)))
      type = GgmlType::kQ6_K;
    if (cols % static_cast<std::int64_t>(kKQuantBlock) != 0) type = GgmlType::kQ8_0;
  }
  if (cols % static_cast<std::int64_t>(ggml_block_size(type)) != 0) type = GgmlType::kF16;
  return type;
}

// Whether a matrix kept quantised as `stored` (a model imported from GGUF)
// is written as it is into a file of `type`, whose own choice for it is
// `wanted`: when they agree, and in a q4_k_m file for any K-quant or Q8_0
// matrix (llama.cpp's mix differs by model size and source).
bool keeps_blocks(GgmlType type, GgmlType wanted, GgmlType stored) {
  return stored == wanted ||
         (type == GgmlType::kQ4_K &&
          (stored == GgmlType::kQ4_K || stored == GgmlType::kQ6_K || stored == GgmlType::kQ8_0));
}

std::string export_type_name(GgmlType type) {
  return type == GgmlType::kQ4_K ? "q4_k_m" : std::string(ggml_type_name(type));
}

}  // namespace

std::optional<GgmlType> quantized_export_type(const fs::path& model_dir) {
  if (!fs::exists(model_dir / kQuantWeightsFile)) return std::nullopt;
  const GgufFile f(model_dir / kQuantWeightsFile);
  bool q4_0 = false;
  for (const GgufTensor& t : f.tensors()) {
    if (t.type == GgmlType::kQ4_K || t.type == GgmlType::kQ6_K) return GgmlType::kQ4_K;
    q4_0 = q4_0 || t.type == GgmlType::kQ4_0;
  }
  return q4_0 ? GgmlType::kQ4_0 : GgmlType::kQ8_0;
}

GgmlType parse_gguf_type(const std::string& name) {
  if (name == "q4_k_m") return GgmlType::kQ4_K;
  for (GgmlType t :
       {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0, GgmlType::kQ4_0}) {
    if (ggml_type_name(t) == name) return t;
  }
  fail_input("--type: '{}' is not a GGUF type Enclave writes (f32, f16, bf16, q8_0, q4_0, q4_k_m)",
             name);
}

GgufExportResult export_gguf(const fs::path& dir, const fs::path& out,
                             const GgufExportOptions& options) {
  const ModelConfig c = load_model_config(dir / "config.json");
  const std::string arch = gguf_architecture(c.family);
  check_expressible(c, dir, arch);
  const WeightFiles files(dir);
  const StoredNames stored(c, files);
  // Matrices a GGUF import kept quantised: their blocks are written as they
  // are (never re-quantised from a dequantised copy), or decoded for f32 /
  // f16 / bf16.
  std::unique_ptr<const GgufFile> quantized;
  if (fs::exists(dir / kQuantWeightsFile))
    quantized = std::make_unique<const GgufFile>(dir / kQuantWeightsFile);

  GgufWriter w;
  w.add_string("general.architecture", arch);
  w.add_string("general.name", options.name.empty()
                                   ? fs::absolute(dir).lexically_normal().filename().string()
                                   : options.name);
  w.add_u32("general.file_type", static_cast<std::uint32_t>(file_type(options.type)));
  if (ggml_block_size(options.type) > 1) w.add_u32("general.quantization_version", 2);
  write_hparams(w, c, arch);
  write_tokenizer(w, dir, c);

  auto add_f32 = [&](const std::string& name, std::vector<float> values) {
    const std::uint64_t n = values.size();
    w.add_tensor(name, GgmlType::kF32, {n}, [values = std::move(values)](auto& bytes) {
      ggml_encode(GgmlType::kF32, values, bytes);
    });
  };
  if (c.rope_scaling.type == RopeScalingType::kLlama3) {
    add_f32("rope_freqs.weight", llama3_rope_factors(c));
    // The divisors do not determine the parameters; kept for `model import`.
    w.add_string("enclave.rope_scaling", to_json(c)["rope_scaling"].dump());
  }
  if (c.rope_scaling.type == RopeScalingType::kLongRope) {
    add_f32("rope_factors_long.weight", std::vector<float>(c.rope_scaling.long_factor.begin(),
                                                           c.rope_scaling.long_factor.end()));
    add_f32("rope_factors_short.weight", std::vector<float>(c.rope_scaling.short_factor.begin(),
                                                            c.rope_scaling.short_factor.end()));
  }
  for (const ParameterShape& p : parameter_shapes(c)) {
    std::optional<std::string> name = gguf_tensor_name(c, p.name);
    if (!name) fail(ErrorKind::kInternal, "gguf: no llama.cpp name for tensor '{}'", p.name);
    const bool matrix = p.shape.size() == 2;
    const GgmlType type = matrix ? matrix_type(options.type, c, *name, p.shape[1]) : GgmlType::kF32;
    const std::int64_t heads = gguf_permuted_heads(c, *name);
    std::vector<std::uint64_t> shape(p.shape.begin(), p.shape.end());
    const GgufTensor* kept = quantized ? quantized->tensor(p.name) : nullptr;
    const WeightRef* ref = kept ? nullptr : files.find(stored(p.name));
    if (kept != nullptr) {
      const std::string where = (dir / kQuantWeightsFile).string();
      if (kept->shape != shape)
        fail_input("{}: tensor '{}': expected shape [{}], got [{}]", where, p.name,
                   fmt::join(p.shape, ", "), fmt::join(kept->shape, ", "));
      if (keeps_blocks(options.type, type, kept->type)) {
        const auto rows = static_cast<std::int64_t>(shape[0]);
        w.add_tensor(*name, kept->type, shape, [kept, heads, rows](auto& bytes) {
          gguf_append_rows(kept->data, heads, rows, /*inverse=*/false, bytes);
        });
        continue;
      }
      if (ggml_block_size(options.type) > 1)
        fail_input(
            "{}: tensor '{}' is kept quantised as {}: this model exports as {} (its blocks as they "
            "are) or as f32, f16 or bf16, not as {} (re-quantising would add a second rounding; "
            "export the model it was quantised from instead)",
            where, p.name, ggml_type_name(kept->type),
            export_type_name(quantized_export_type(dir).value_or(kept->type)),
            export_type_name(options.type));
    } else if (ref == nullptr) {
      fail_input("{}: missing tensor '{}' (expected shape [{}])", dir.string(), stored(p.name),
                 fmt::join(p.shape, ", "));
    } else if (ref->info->shape != p.shape) {
      fail_input("{}: tensor '{}': expected shape [{}], got [{}]", WeightFiles::describe(*ref),
                 p.name, fmt::join(p.shape, ", "), fmt::join(ref->info->shape, ", "));
    }
    const bool plus_one = gguf_norm_plus_one(c, p.name);
    w.add_tensor(*name, type, shape, [ref, kept, type, heads, plus_one, shape](auto& bytes) {
      std::uint64_t n = 1;
      for (std::uint64_t d : shape) n *= d;
      std::vector<float> values(n);
      if (kept != nullptr) {
        ggml_decode(kept->type, kept->data, values);
      } else {
        to_f32(ref->info->dtype, ref->file->data(*ref->info), values);
      }
      if (heads > 0) {
        const auto rows = static_cast<std::int64_t>(shape[0]);
        values = gguf_permute_rows(values, heads, rows,
                                   shape.size() == 2 ? static_cast<std::int64_t>(shape[1]) : 1);
      }
      if (plus_one)
        for (float& x : values) x += 1.0f;  // llama.cpp's Gemma norms store the scale itself
      ggml_encode(type, values, bytes);
    });
  }
  w.write(out);
  GgufExportResult result;
  result.architecture = arch;
  result.n_tensors = w.n_tensors();
  result.n_bytes = fs::file_size(out);
  return result;
}

}  // namespace enclave
