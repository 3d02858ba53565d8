// MergePlan: a merge config checked against the models it names and turned
// into the list of output tensors, each with its sources and resolved
// parameters, before anything is written. Planning
//   - resolves every model reference to a directory (ModelResolver) and
//     reads its config.json and safetensors headers (weights stay mapped,
//     not read);
//   - turns the `models:` form into one slice over all layers (adding the
//     base model where the method needs it), as mergekit does;
//   - checks compatibility: same architecture and every shape-defining
//     config field (vocab, hidden, intermediate, heads, kv heads, head_dim,
//     biases, tied embeddings) equal to the base's (or the first model's),
//     layer ranges inside each model, equal-length ranges within a slice,
//     the source count the method needs, and every source tensor present,
//     float, and of the expected shape;
//   - checks tokenizers: tokenizer.json / tokenizer.model must be byte-equal
//     across the inputs unless tokenizer_source says which one to use;
//   - evaluates parameters per tensor (gradients over each slice's layers:
//     t = i / (n - 1); embeddings at t = 0, final norm and lm_head at t = 1).
// Every error names the config file and field, or the model and tensor.
// Thread safety: a plan is immutable once built; it keeps the inputs' files
// mapped while it lives.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "merge/merge_config.h"
#include "model/config.h"
#include "model/weight_files.h"

namespace enclave::merge {

// Maps a model reference from a config to a model directory. Throws
// Error(kNotFound) when it names nothing.
using ModelResolver = std::function<std::filesystem::path(const std::string& ref)>;

// The resolver for when there is no store: the reference must be a
// directory holding config.json.
std::filesystem::path resolve_model_directory(const std::string& ref);

struct InputModel {
  std::string ref;            // as first written in the config
  std::filesystem::path dir;  // resolved
  ModelConfig config;
  std::shared_ptr<const WeightFiles> weights;
  std::optional<StoredNames> stored;  // module name -> name in `weights`
};

struct TensorSource {
  std::size_t model = 0;           // index into MergePlan::models
  const WeightRef* ref = nullptr;  // the stored tensor (kept alive by the plan's WeightFiles)
  bool is_base = false;
  double weight = 1.0;   // linear, task arithmetic family
  double density = 1.0;  // ties, dare_*
  double scale = 1.0;    // passthrough
};

struct PlannedTensor {
  std::string name;  // output name
  std::vector<std::int64_t> shape;
  DType dtype = DType::kF32;  // stored output dtype
  std::vector<TensorSource> sources;
  double t = 0.0;       // slerp
  double lambda = 1.0;  // task arithmetic family
};

struct MergePlan {
  MergeMethod method = MergeMethod::kLinear;
  std::vector<InputModel> models;
  std::optional<std::size_t> base;  // index into models
  nlohmann::json
      out_config_json;  // the reference config.json with num_hidden_layers and dtype updated
  ModelConfig out_config;
  std::vector<PlannedTensor> tensors;  // in parameter_shapes(out_config) order
  bool normalize = false;
  bool rescale = true;
  std::filesystem::path tokenizer_dir;  // tokenizer files come from here; empty if no input has any
  std::string tokenizer_ref;  // tokenizer_source as written when it names a model; empty otherwise
  std::filesystem::path side_files_dir;  // generation_config.json comes from here
};

// Plans a merge. `what` names the config in errors ("merge.yaml"). Throws
// Error(kInvalidInput) for incompatible models or bad fields,
// Error(kNotFound) for missing models or tensors.
MergePlan plan_merge(const MergeConfig& config, const ModelResolver& resolve,
                     std::string_view what);

}  // namespace enclave::merge
