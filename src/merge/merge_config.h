// MergeConfig: a merge recipe in YAML close to mergekit's
// (https://github.com/arcee-ai/mergekit, docs/merge_methods.md):
//
//   merge_method: ties            # linear slerp task_arithmetic ties dare_ties dare_linear
//   passthrough base_model: llama-base        # a model ref ("name", "name@3", "name:alias") or a
//   directory models:                       # every layer of each model ...
//     - model: llama-ko
//       parameters: {weight: 0.6, density: [1, 0.5]}
//   slices:                       # ... or stacked layer ranges (one of the two)
//     - sources:
//         - {model: solar, layer_range: [0, 24]}
//   parameters: {normalize: true, t: [{filter: self_attn, value: [0, 1]}, {value: 0.5}]}
//   dtype: bfloat16               # output dtype unless out_dtype is given
//   tokenizer_source: base        # "base" or a model ref; required when tokenizers differ
//
// Parsing checks every field against the method (unknown fields and
// parameters are errors, not ignored) and names the file and field in each
// error: "merge.yaml: field 'models[1].parameters.density': 1.5 is outside
// [0, 1]". Checks that need the models (layer counts, shapes, tokenizers)
// happen when the merge is planned (merge/plan.h).
// Thread safety: plain values; functions are stateless.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "merge/parameter.h"
#include "model/dtype.h"

namespace enclave::merge {

enum class MergeMethod {
  kLinear,
  kSlerp,
  kTaskArithmetic,
  kTies,
  kDareTies,
  kDareLinear,
  kPassthrough
};

// "linear", "slerp", "task_arithmetic", "ties", "dare_ties", "dare_linear", "passthrough".
std::string_view method_name(MergeMethod method);
std::optional<MergeMethod> method_from_name(std::string_view name);
// Task arithmetic, TIES and both DARE variants: they merge task vectors
// (model - base) and need a base_model.
bool is_task_arithmetic(MergeMethod method);

struct SourceSpec {
  std::string model;                                                 // ref or directory, as written
  std::optional<std::pair<std::int64_t, std::int64_t>> layer_range;  // [begin, end); slices only
  Parameters parameters;
};

struct SliceSpec {
  std::vector<SourceSpec> sources;
  Parameters parameters;
};

struct MergeConfig {
  MergeMethod method = MergeMethod::kLinear;
  std::optional<std::string> base_model;
  std::vector<SourceSpec> models;               // `models:` form; empty when `slices:` is used
  std::vector<SliceSpec> slices;                // `slices:` form; empty when `models:` is used
  Parameters parameters;                        // top level
  std::optional<DType> dtype;                   // stored dtype of the output; nullopt: the base's
  std::optional<std::string> tokenizer_source;  // "base" or a model ref
};

// Parses a config document (from YAML or JSON). `what` names the file.
// Throws Error(kInvalidInput) naming the field for anything malformed or
// unknown, Error(kUnsupported) for mergekit features Enclave lacks
// (tokenizer_source: union, other merge methods, the `tokenizer`/`modules`
// sections).
MergeConfig parse_merge_config(const nlohmann::json& doc, std::string_view what);

// Reads and parses a YAML merge config file.
MergeConfig load_merge_config(const std::filesystem::path& path);

// "float32"/"f32", "bfloat16"/"bf16", "float16"/"f16"/"half" -> DType;
// nullopt for other names.
std::optional<DType> storage_dtype_from_name(std::string_view name);
// kF32 -> "float32" (the HF config.json torch_dtype spelling).
std::string_view torch_dtype_name(DType dtype);

// The config as a JSON document (recorded with the run; parses back).
nlohmann::json to_json(const MergeConfig& config);

}  // namespace enclave::merge
