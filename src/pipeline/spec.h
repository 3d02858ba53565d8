// A pipeline file (YAML, close to dvc.yaml) read into a checked PipelineSpec:
//
//   name: retrain
//   params: {steps: 200}          # ${steps} in cmd, deps and outs
//   params_file: params.yaml      # optional; merged under `params`
//   stages:
//     train:
//       cmd: enclave train sft --data ${stages.export.outs.feedback} --max-steps ${steps}
//       deps: [dataset:feedback, model:base:production, data/extra.jsonl]
//       params: {lr: 3e-4}        # stage-local values, over the file's
//       outs: [model:assistant, report.json]
//       approval: required        # optional
//       cache: false              # or {max_age: 7d}
//   on:
//     feedback: {new: 200}
//
// Every error names the file, the field (with its line where the file shows
// it) and the reason; unknown keys are errors, so a typo never silently
// disables a stage's cache or a trigger. Parameters are substituted when the
// file is loaded (`--param KEY=VALUE` overrides the file's); references to
// other stages' outputs (${stages.S.outs.N}) stay in cmd until that stage has
// run. A dependency on another stage's output (the same `model:NAME`,
// `dataset:NAME` or file in its outs) or a ${stages...} reference makes an
// edge of the DAG.
// Thread safety: plain values; load_pipeline is stateless.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pipeline/cron.h"

namespace enclave::pipeline {

// One entry of deps or outs.
struct Artifact {
  enum class Kind { kFile, kModel, kDataset };
  Kind kind = Kind::kFile;
  std::string ref;           // the path (files) or registry reference as written after "model:"
  std::string text() const;  // as written: "model:assistant", "report.json"
  // The name ${stages.S.outs.NAME} uses: the registry name, or the path.
  std::string out_name() const;
};

struct Stage {
  std::string name;
  std::string cmd;  // parameters substituted; ${stages...} still in it
  std::vector<Artifact> deps;
  std::vector<Artifact> outs;
  std::vector<std::string> after;  // stages it depends on (from deps and ${stages...})
  std::map<std::string, std::string> params_used;  // key -> value substituted
  bool approval_required = false;
  bool cache = true;
  std::optional<double> cache_max_age_seconds;
  nlohmann::json definition;  // the stage as written in the file (for the cache key)
};

// The trigger kinds of an `on:` block. Each has a stable id ("feedback",
// "dataset:docs", "schedule", ...) under which `watch` keeps its state.
struct Trigger {
  enum class Kind { kFeedback, kDataset, kModelAlias, kSchedule, kPipeline, kMonitor };
  Kind kind = Kind::kFeedback;
  std::string id;
  std::int64_t threshold = 0;  // feedback new / dataset new_versions or new_rows
  bool rows = false;           // dataset: new_rows rather than new_versions
  std::string name;            // dataset, model or pipeline name
  std::string alias;           // model_alias
  std::string status;          // pipeline: succeeded | failed | any
  std::optional<Cron> schedule;
  nlohmann::json spec;  // as written
};

struct PipelineSpec {
  std::filesystem::path file;  // absolute
  std::filesystem::path dir;   // the file's folder: stages run here, file paths are relative to it
  std::string name;
  nlohmann::json params = nlohmann::json::object();  // in force: file, params file, overrides
  std::vector<Stage> stages;                         // in file order
  std::vector<Trigger> triggers;

  const Stage* find(std::string_view stage) const;
};

// Reads and checks a pipeline file. overrides are `--param KEY=VALUE` (a
// dotted KEY sets a nested value; VALUE is read as a YAML scalar). Throws
// Error(kInvalidInput) "FILE: FIELD (line N): REASON" for unknown keys, wrong
// types, a cycle, a reference to an unknown stage or output, two stages with
// one output, a bad cron expression or trigger, an unknown parameter;
// Error(kNotFound) for a missing file or params file.
PipelineSpec load_pipeline(const std::filesystem::path& file,
                           const std::vector<std::string>& overrides = {});

// "0", "90s", "15m", "6h", "7d", "2w" in seconds; Error(kInvalidInput) naming field.
double parse_duration(const std::string& text, const std::string& field);

}  // namespace enclave::pipeline
