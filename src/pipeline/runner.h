// The engine: runs a pipeline's stages in dependency order, independent ones
// in parallel (at most `jobs` at once), each as a store run (kind
// "pipeline-stage", params naming the pipeline run) whose inputs are the
// stage's resolved deps and whose outputs are its files and the registry
// versions its command registered, so lineage leads from a served model
// back through every stage. A stage whose definition, parameters, input
// digests and enclave version match its last successful run, and whose
// outputs still exist, is not run again (`cached`). A failed stage skips
// its descendants and lets the others finish; a stage with
// `approval: required` waits (`waiting_approval`) until `approve_stage`.
// Thread safety: run_pipeline may be called from several threads for
// different pipelines (each opens its own connections); stages run on
// threads of its own.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/executor.h"
#include "pipeline/run_state.h"

namespace enclave::pipeline {

struct PipelineRunOptions {
  std::filesystem::path workspace_root;
  std::filesystem::path file;          // empty with resume: the file the run was started from
  std::vector<std::string> params;     // --param KEY=VALUE
  std::string stage;                   // --stage: this stage and what it needs
  int jobs = 1;                        // stages at once
  bool dry_run = false;                // show what would run; record nothing
  std::vector<std::string> force;      // stages run even when cached
  std::optional<std::int64_t> resume;  // continue this run
  std::string trigger = "manual";
  Executor* executor = nullptr;  // null: a LocalExecutor
  // Progress lines (stage started, cached, finished, failed with the end of
  // its log); null: none.
  std::function<void(const std::string&)> progress;
};

// Runs (or with resume continues) a pipeline and returns its record, whose
// status is succeeded, failed, rejected or waiting_approval. Throws Error
// for a bad file, an unknown stage, run or parameter, or a pipeline that is
// already running; a stage's own failure is not an exception.
RunRecord run_pipeline(const PipelineRunOptions& options);

// What run_pipeline would do, without doing it: {"pipeline", "dry_run": true,
// "stages": [{"name", "status": "pending"|"cached", "reason", "cmd"}]}.
nlohmann::json plan_pipeline(const PipelineRunOptions& options);

// Inserts a new pipeline run for spec in the caller's WriteTransaction (the
// run `watch` fires with its trigger record), to be run with
// run_pipeline({.resume = id}).
std::int64_t create_pipeline_run(store::Db& db, const std::filesystem::path& file,
                                 const std::string& trigger, double now);

struct ApproveOptions {
  std::filesystem::path workspace_root;
  std::int64_t run = 0;
  std::string stage;
  bool reject = false;
  std::string reason;
  int jobs = 1;
  std::function<void(const std::string&)> progress;
};

// Records the decision on a stage waiting for approval in the audit log
// (action "pipeline-approve" or "pipeline-reject", with the OS user, the
// run, the stage and the reason) and continues the run. Throws
// Error(kInvalidInput) for an empty reason or a stage that is not waiting,
// Error(kNotFound) for an unknown run or stage.
RunRecord approve_stage(const ApproveOptions& options);

}  // namespace enclave::pipeline
