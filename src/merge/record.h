// Merges whose result is registered in the workspace store: `enclave merge
// --out NAME` and `enclave model upscale --out NAME`. The merge runs as a
// store run (kind "merge" or "upscale") whose params hold the merge config
// and seed. Every input model is recorded as an input of the run, role
// "model" (or "tokenizer" for a tokenizer_source that is not otherwise an
// input): a registry version when the reference names one, else the
// directory stored as an artifact. The YAML file is input "merge_config",
// and the result is registered as the next version of NAME, produced by
// that run, so `enclave lineage NAME` shows the inputs and the config. The
// output is written into the workspace's tmp/ folder first and removed once
// stored; if anything fails, the run is marked failed and no version appears.
// Thread safety: one call per thread (each opens its own workspace).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "merge/merge.h"
#include "store/registry.h"
#include "store/workspace.h"

namespace enclave::merge {

struct StoreTarget {
  std::string name;              // model name to register (validated like every store name)
  store::FindOptions workspace;  // which workspace
  std::vector<std::string>
      command;  // argv recorded with the run; empty: this process's (core/program.h)
  std::filesystem::path config_file;  // recorded as input "merge_config" when non-empty
};

struct StoredMerge {
  MergeResult merge;
  store::VersionInfo version;
  std::int64_t run_id = 0;
};

// {version, run_id} plus result_json(merge): what `--json` prints.
nlohmann::json stored_json(const StoredMerge& stored);

// Resolves model references the way every command does: a directory as is,
// else "name", "name@3" or "name:alias" from the workspace.
ModelResolver store_resolver(const store::FindOptions& workspace);

// Runs the merge (options.out_dir and options.resolve are set here) and
// registers the result. Throws Error(kInvalidInput) for a bad name before
// any work, Error(kNotFound) without a workspace, and whatever run_merge
// throws.
StoredMerge merge_to_store(const MergeConfig& config, MergeOptions options,
                           const StoreTarget& target);

// The same for quantisation (`enclave model quantize`): the model ref
// names, exported as one GGUF file of `type` (model/gguf_export.h) into a
// folder holding only `model.gguf`, registered with the source as input
// "model" of a run of kind "quantize". Commands load such a version through
// its GGUF file, keeping the matrices quantised.
StoredMerge quantize_to_store(const std::string& model_ref, const std::string& type,
                              MergeOptions options, const StoreTarget& target);

// The same for depth up-scaling (upscale.h).
StoredMerge upscale_to_store(const std::string& model_ref, std::int64_t drop,
                             std::optional<DType> dtype, MergeOptions options,
                             const StoreTarget& target);

}  // namespace enclave::merge
