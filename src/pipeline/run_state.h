// The records of pipeline runs in the workspace database (tables made by
// store/schema.cpp migration 3): a run (which pipeline file, its --param
// overrides, --stage target, who owns it now, status) and one row per stage
// (status, the store run that did its work, the command as run, the
// outputs it produced). A run is owned by the process that runs it; a run
// whose owner died can be taken over (`--resume`, `watch`), and at most one
// run of a pipeline is live at a time.
// Thread safety: operates on one Db; see store/db.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "store/db.h"

namespace enclave::pipeline {

struct StageRecord {
  std::string stage;
  std::string status = "pending";  // pending | running | waiting_approval | succeeded | cached
                                   // | failed | skipped | rejected
  bool approved = false;
  std::optional<std::int64_t> store_run;
  std::string cmd;
  nlohmann::json outs = nlohmann::json::object();
  std::string message;
  std::optional<double> started_at;
  std::optional<double> ended_at;
};

struct RunRecord {
  std::int64_t id = 0;
  std::string pipeline;
  std::string file;
  std::vector<std::string> params;  // --param KEY=VALUE as given
  std::string target;               // --stage, or empty for all
  std::vector<std::string> forced;
  std::string status;  // running | waiting_approval | succeeded | failed | rejected
  std::string trigger;
  std::string message;
  double created_at = 0;
  double updated_at = 0;
  std::optional<double> ended_at;
  bool owner_alive = false;  // the owning process still runs (only meaningful while running)
  std::int64_t owner_pid = 0;
  std::vector<StageRecord> stages;
};

struct NewRun {
  std::string pipeline;
  std::string file;
  std::vector<std::string> params;
  std::string target;
  std::vector<std::string> forced;
  std::string trigger = "manual";
  std::vector<std::string> stages;  // rows made pending
};

// Inserts a running run owned by this process. Must run inside the caller's
// WriteTransaction (so a trigger can record its fire with it). Throws
// Error(kInvalidInput) if another live run of the pipeline exists; a run
// whose owner died is first marked failed ("its process died").
std::int64_t insert_run(store::Db& db, const NewRun& run, double now);

// Takes over run id for this process (resume, approve, watch): Throws
// Error(kNotFound) for an unknown run, Error(kInvalidInput) if a live
// process owns it or another live run of the pipeline exists.
void claim_run(store::Db& db, std::int64_t id, double now);

// The run of this pipeline that is running and whose owner died, if any.
std::optional<std::int64_t> orphaned_run(store::Db& db, const std::string& pipeline);
// Whether a run of this pipeline is running in a live process.
bool has_live_run(store::Db& db, const std::string& pipeline);

RunRecord load_run(store::Db& db, std::int64_t id);  // Error(kNotFound) if unknown
void save_stage(store::Db& db, std::int64_t run_id, const StageRecord& stage);
void finish_run(store::Db& db, std::int64_t id, const std::string& status,
                const std::string& message, double now);

struct RunFilter {
  std::string pipeline;  // empty: all
  std::int64_t limit = 50;
};
std::vector<RunRecord> list_runs(store::Db& db, const RunFilter& filter);  // newest first

nlohmann::json run_json(const RunRecord& run);
std::string format_run(const RunRecord& run);
nlohmann::json runs_json(const std::vector<RunRecord>& runs);
std::string format_runs(const std::vector<RunRecord>& runs);

}  // namespace enclave::pipeline
