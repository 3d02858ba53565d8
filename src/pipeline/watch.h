// `enclave pipeline watch`: every interval, reads the pipeline files of a
// folder, checks their triggers (triggers.h) and starts a run for each
// pipeline whose triggers fired, on a thread of its own, never two runs of
// one pipeline at once. Each decision (baseline, wait, fire, busy, file
// error) is logged with its reason. The fired triggers, their new cursors
// and the run they start are written in one transaction before the run
// starts; a run left `running` by a watcher that died is resumed by the next
// one. So a restart neither loses a trigger (its cursor moved only together
// with the run's record) nor repeats it (the cursor moved).
// Thread safety: watch() blocks its caller; one watcher per workspace is
// the intended setup, but two only ever wait on each other's runs.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "pipeline/triggers.h"

namespace enclave::pipeline {

struct WatchOptions {
  std::filesystem::path workspace_root;
  std::filesystem::path dir = "pipelines";  // relative paths: from the current folder
  bool once = false;  // one round of checks; waits for the runs it started, then returns
  double interval_seconds = 30;
  int jobs = 1;
  TriggerSources sources;
  std::function<void(const std::string&)> log;  // one line per decision
};

// Runs until killed (or one round with once). Throws Error(kNotFound) if dir
// is not a folder.
void watch(const WatchOptions& options);

// Each pipeline (files in dir, and pipelines with recorded runs) with its
// last run and its triggers: {"pipelines": [{"name", "file", "last_run":
// {...} | null, "triggers": [{"id", "spec", "checked_at", "fired_at",
// "fires"}]}]}. name: only that pipeline (Error(kNotFound) if unknown).
nlohmann::json pipeline_status(const std::filesystem::path& workspace_root,
                               const std::filesystem::path& dir, const std::string& name);
std::string format_pipeline_status(const nlohmann::json& status);

}  // namespace enclave::pipeline
