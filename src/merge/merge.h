// run_merge: executes a merge config and writes the result as a Hugging
// Face model directory (config.json, safetensors, tokenizer files) that
// Engine::load reads. The work is streamed: for each output tensor the
// source tensors are read from the memory-mapped inputs, converted to f32,
// merged, converted to the output dtype and appended to the output shard,
// and the inputs' pages are released again, so peak memory stays near a few
// copies of the largest tensor however large the models are. The directory
// appears whole or not at all (core/staging_dir.h). The config text, when given, is
// saved beside the weights as merge_config.yaml (mergekit does the same) so
// the model carries its own recipe.
// Thread safety: one merge per call; the function holds no global state.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "merge/merge_config.h"
#include "merge/plan.h"
#include "model/config.h"

namespace enclave::merge {

struct MergeOptions {
  std::filesystem::path out_dir;             // must not exist or be an empty directory
  ModelResolver resolve;                     // model ref -> directory; empty: refs are directories
  std::string config_name = "merge config";  // names the config in errors ("merge.yaml")
  std::string config_text;                   // written as merge_config.yaml when non-empty
  std::uint64_t seed = 0;                    // DARE drop masks
  std::uint64_t max_shard_bytes = 5'000'000'000;  // HF's default "5GB"
  bool show_progress = true;                      // on a terminal only (core/progress.h)
};

struct MergeInput {
  std::string ref;
  std::filesystem::path dir;
  std::string role = "model";  // "model": weights were read; "tokenizer": only its tokenizer files
};

struct MergeResult {
  std::filesystem::path out_dir;
  ModelConfig config;
  MergeMethod method = MergeMethod::kLinear;
  std::vector<MergeInput> inputs;  // every model read: weights, or a tokenizer_source's tokenizer
  std::filesystem::path tokenizer_dir;  // where the tokenizer files came from; empty: none
  std::int64_t n_tensors = 0;
  std::uint64_t n_bytes = 0;  // weight bytes written
  std::int64_t n_shards = 0;
  double seconds = 0.0;
};

// Plans (see plan.h for every check made before writing) and runs the
// merge. Throws Error(kInvalidInput)/Error(kNotFound) from planning,
// Error(kIo) on write failure; nothing is left in out_dir on failure.
MergeResult run_merge(const MergeConfig& config, const MergeOptions& options);

// One output tensor computed from its plan entry, as float32 (exposed for
// tests and the benchmark). `merge_seed` seeds DARE.
std::vector<float> merge_tensor(const MergePlan& plan, const PlannedTensor& tensor,
                                std::uint64_t merge_seed);

// A short JSON summary ({out_dir, method, n_layer, n_tensors, n_bytes, ...}).
nlohmann::json result_json(const MergeResult& result);

// One line for people: "ties merge of 3 models into DEST: 4 layers, 39
// tensors, 13.6 MB in 1 file, 0.42 s". `destination` names where it went
// (a folder, or a registered version "name@2").
std::string format_result(const MergeResult& result, std::string_view destination);

}  // namespace enclave::merge
