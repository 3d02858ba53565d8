#include "model/gguf_lora.h"

#include <fmt/format.h>

#include <cmath>
#include <map>

#include "core/error.h"
#include "model/config.h"
#include "model/float_convert.h"
#include "model/gguf_names.h"
#include "model/lora.h"
#include "model/safetensors.h"

namespace enclave {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kPrefix = "base_model.model.";

struct LoraPair {
  const TensorInfo* a = nullptr;
  const TensorInfo* b = nullptr;
};

// "base_model.model.X.lora_A.weight" -> ("X.weight", true); nullopt for a
// name that is neither half of a LoRA pair.
std::optional<std::pair<std::string, bool>> split_name(const std::string& name) {
  for (const auto& [suffix, is_a] :
       {std::pair<std::string_view, bool>{".lora_A.weight", true}, {".lora_B.weight", false}}) {
    if (name.starts_with(kPrefix) && name.ends_with(suffix)) {
      const std::string module =
          name.substr(kPrefix.size(), name.size() - kPrefix.size() - suffix.size());
      return std::pair{module + ".weight", is_a};
    }
  }
  return std::nullopt;
}

std::vector<float> read_f32(const SafetensorsFile& file, const TensorInfo& info) {
  std::vector<float> values(static_cast<std::size_t>(info.n_elements()));
  to_f32(info.dtype, file.data(info), values);
  return values;
}

GgmlType fitting(GgmlType wanted, std::uint64_t row_length) {
  // Rows that do not fill quantisation blocks (B's rows are r long) stay f16.
  return row_length % ggml_block_size(wanted) == 0 ? wanted : GgmlType::kF16;
}

}  // namespace

GgufLoraExportResult export_gguf_lora(const fs::path& adapter_dir, const fs::path& base_dir,
                                      const fs::path& out, const GgufLoraExportOptions& options) {
  if (options.type != GgmlType::kF32 && options.type != GgmlType::kF16 &&
      options.type != GgmlType::kBF16 && options.type != GgmlType::kQ8_0) {
    fail(ErrorKind::kUnsupported, "--type: a GGUF LoRA adapter is f32, f16, bf16 or q8_0");
  }
  const LoraConfig lora = read_adapter_config(adapter_dir);
  const ModelConfig c = load_model_config(base_dir / "config.json");
  const std::string arch = gguf_architecture(c.family);
  std::map<std::string, std::vector<std::int64_t>> base_shapes;
  for (const ParameterShape& p : parameter_shapes(c)) base_shapes[p.name] = p.shape;

  const fs::path weights = adapter_dir / kAdapterWeightsFile;
  const SafetensorsFile file(weights);
  std::map<std::string, LoraPair> pairs;  // by base tensor name, in name order
  for (const TensorInfo& info : file.tensors()) {
    const auto split = split_name(info.name);
    if (!split)
      fail_input("{}: tensor '{}' is not a lora_A or lora_B weight", weights.string(), info.name);
    LoraPair& pair = pairs[split->first];
    (split->second ? pair.a : pair.b) = &info;
  }
  if (pairs.empty()) fail_input("{}: holds no LoRA tensors", weights.string());

  GgufWriter w;
  w.add_string("general.architecture", arch);
  w.add_string("general.type", "adapter");
  w.add_string("general.name",
               options.name.empty()
                   ? fs::absolute(adapter_dir).lexically_normal().filename().string()
                   : options.name);
  w.add_string("adapter.type", "lora");
  const double rank = static_cast<double>(lora.r);
  const double alpha = lora.use_rslora ? lora.alpha * std::sqrt(rank) : lora.alpha;
  w.add_f32("adapter.lora.alpha", static_cast<float>(alpha));

  for (const auto& [base_name, pair] : pairs) {
    const std::string what = fmt::format("{}: '{}'", weights.string(), base_name);
    if (pair.a == nullptr || pair.b == nullptr)
      fail_input("{}: lora_{} without lora_{}", what, pair.a ? "A" : "B", pair.a ? "B" : "A");
    if (base_name == "model.embed_tokens.weight" || base_name == "lm_head.weight")
      fail(ErrorKind::kUnsupported, "{}: llama.cpp applies no LoRA to embeddings or lm_head", what);
    auto base = base_shapes.find(base_name);
    const std::optional<std::string> gguf_name = gguf_tensor_name(c, base_name);
    if (base == base_shapes.end() || base->second.size() != 2 || !gguf_name)
      fail_input("{}: the base model ({}) has no such matrix", what, base_dir.string());
    const std::int64_t out_dim = base->second[0], in_dim = base->second[1];
    const std::vector<std::int64_t>& a = pair.a->shape;
    const std::vector<std::int64_t>& b = pair.b->shape;
    if (a.size() != 2 || b.size() != 2 || a[1] != in_dim || b[0] != out_dim || a[0] != b[1] ||
        a[0] != lora.r) {
      fail_input("{}: lora_A [{}] and lora_B [{}] do not fit the base's [{}, {}] at r = {}", what,
                 fmt::join(a, ", "), fmt::join(b, ", "), out_dim, in_dim, lora.r);
    }
    const auto r = static_cast<std::uint64_t>(lora.r);
    const GgmlType a_type = fitting(options.type, static_cast<std::uint64_t>(in_dim));
    w.add_tensor(*gguf_name + ".lora_a", a_type, {r, static_cast<std::uint64_t>(in_dim)},
                 [&file, info = pair.a, a_type](auto& bytes) {
                   ggml_encode(a_type, read_f32(file, *info), bytes);
                 });
    const std::int64_t heads = gguf_permuted_heads(c, *gguf_name);
    const GgmlType b_type = fitting(options.type, r);
    w.add_tensor(*gguf_name + ".lora_b", b_type, {static_cast<std::uint64_t>(out_dim), r},
                 [&file, info = pair.b, b_type, heads, out_dim, r](auto& bytes) {
                   std::vector<float> values = read_f32(file, *info);
                   if (heads > 0)
                     values =
                         gguf_permute_rows(values, heads, out_dim, static_cast<std::int64_t>(r));
                   ggml_encode(b_type, values, bytes);
                 });
  }
  w.write(out);
  return {.architecture = arch,
          .n_tensors = w.n_tensors(),
          .n_bytes = fs::file_size(out),
          .alpha = alpha};
}

}  // namespace enclave
