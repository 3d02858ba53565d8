// Runs: the record every producing command leaves (train, data, eval, merge,
// ...): kind, name, command line, params, program version and build id,
// host, user, seed, start and end, status, inputs and outputs (artifacts and
// registry versions), metrics as (key, step, value, time) series, and a log.
// The version and build id always come from the process identity main() set
// (core/program.h), as two fields, so every run names its program one way.
//
//   Run run(workspace.root(), {.kind = "train", .name = "sft", .command = argv});
//   run.log_params({{"lr", 3e-4}});
//   run.log_input_version(dataset_version_id, "train_data");
//   for (...) run.log_metric("loss", loss, step);
//   run.log_output(out_dir, "model");
//   run.finish(RunStatus::kFinished);
//
// Metrics are buffered and written in batches (at most every
// metric_flush_interval, or metric_flush_points points, and on flush()/
// finish()), so logging costs microseconds; a crash loses at most the last
// interval's points. A heartbeat thread keeps heartbeat_at fresh. A run
// whose process died is marked failed by the next process that opens the
// workspace: at once on the same host (the pid is gone or was reused), after
// stale_after without a heartbeat for runs from another host.
// Thread safety: one Run may be used from several threads (calls are
// serialised); it owns its own database connections.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/artifacts.h"
#include "store/db.h"
#include "store/workspace.h"

namespace enclave::store {

enum class RunStatus { kRunning, kFinished, kFailed, kKilled };

// One point of a metric series. time is seconds since the epoch.
struct MetricPoint {
  std::string key;
  std::int64_t step = 0;
  double value = 0;
  double time = 0;
};
std::string_view to_string(RunStatus status);
// Throws Error(kInvalidInput) for anything but running|finished|failed|killed.
RunStatus parse_run_status(std::string_view text);

struct RunOptions {
  std::string kind;                  // "train", "data", "eval", "merge", "exec", ...
  std::string name;                  // free text shown in lists
  std::vector<std::string> command;  // argv of the producing command; empty: this process's
  nlohmann::json params = nlohmann::json::object();
  std::optional<std::int64_t> seed;
  std::chrono::milliseconds heartbeat_interval{10000};
  std::chrono::milliseconds metric_flush_interval{1000};
  std::size_t metric_flush_points = 10000;
};

class Run {
 public:
  // Records a new run with status running. Throws Error(kInvalidInput) for a
  // kind that is not a valid name (names.h), a name with control characters
  // or over 1024 bytes, or params that are not an object.
  Run(const std::filesystem::path& workspace_root, RunOptions options);
  // A run still running here was not finished by its owner (an exception
  // unwound past it): it is marked failed. Never throws.
  ~Run();
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  std::int64_t id() const { return id_; }
  std::filesystem::path log_path() const { return log_path_; }

  // Merges keys into the run's params (a JSON object) as RFC 7396 does:
  // later values win, nested objects merge, a null value removes the key.
  // The merge happens in the database, so params another process adds with
  // log_to_run are kept.
  void log_params(const nlohmann::json& params);
  // key: 1..250 printable characters ("loss", "eval/acc"). value may be NaN or
  // infinite. time defaults to now (seconds since the epoch).
  void log_metric(std::string_view key, double value, std::int64_t step,
                  std::optional<double> time = std::nullopt);
  // Makes every metric point logged so far durable.
  void flush();

  // Stores the file or folder at path (see artifacts.h) and records it as an
  // input or output of this run; role names its part ("train_data", "model").
  Artifact log_input(const std::filesystem::path& path, std::string_view role = "");
  Artifact log_output(const std::filesystem::path& path, std::string_view role = "");
  // Records an already stored artifact ("sha256:...") or registry version.
  void log_input_artifact(std::string_view digest, std::string_view role = "");
  void log_output_artifact(std::string_view digest, std::string_view role = "");
  void log_input_version(std::int64_t version_id, std::string_view role = "");
  void log_output_version(std::int64_t version_id, std::string_view role = "");

  // Appends text to the run's log file (.enclave/logs/run-<id>.log).
  void log_text(std::string_view text);

  // Flushes metrics and records the end: status (not kRunning), end time and
  // an optional message (why it failed). Later calls do nothing.
  void finish(RunStatus status = RunStatus::kFinished, std::string_view message = "");

 private:
  enum class Direction { kInput, kOutput };
  void record_io(Direction direction, std::string_view role, const std::string* artifact,
                 std::optional<std::int64_t> version_id);
  // Records an already stored artifact or a registry version (exactly one).
  void log_reference(Direction direction, std::string_view role, std::optional<std::string> digest,
                     std::optional<std::int64_t> version_id);
  Artifact log_path_artifact(Direction direction, const std::filesystem::path& path,
                             std::string_view role);
  void flush_locked_with(Db& db);
  void heartbeat_loop();

  RunOptions options_;
  std::unique_ptr<Workspace> workspace_;
  std::int64_t id_ = 0;
  std::filesystem::path log_path_;
  bool finished_ = false;
  std::mutex mutex_;        // guards workspace_, params, finished_
  std::mutex flush_mutex_;  // one batch written at a time, so flush() waits for all
  std::mutex buffer_mutex_;
  std::vector<MetricPoint> buffer_;
  std::chrono::steady_clock::time_point last_flush_;
  std::thread heartbeat_;
  std::mutex heartbeat_mutex_;
  std::condition_variable heartbeat_cv_;
  bool stop_heartbeat_ = false;
};

// What `enclave runs log` adds to a run owned by another process (the
// command `enclave runs exec` started): metric points and params.
struct RunUpdate {
  struct Metric {
    std::string key;
    double value = 0;
    std::optional<std::int64_t> step;  // none: one past the key's last step (0 if new)
  };
  std::vector<Metric> metrics;
  nlohmann::json params = nlohmann::json::object();  // merged as Run::log_params does
};

// Applies update to run run_id in one transaction. Throws Error(kNotFound)
// for an unknown run, Error(kInvalidInput) if the run is no longer running or
// a key is invalid. Returns the points written (with their steps).
std::vector<MetricPoint> log_to_run(Db& db, std::int64_t run_id, const RunUpdate& update);

// How long a run from another host may go without a heartbeat before it is
// declared dead: $ENCLAVE_RUN_STALE_SECONDS, default 300.
std::chrono::seconds default_stale_after();

// Marks runs still "running" whose process is gone as failed, with the
// reason in message; returns their ids. Workspace's constructor calls it.
std::vector<std::int64_t> fail_dead_runs(Db& db,
                                         std::chrono::seconds stale_after = default_stale_after());

}  // namespace enclave::store
