#include "store/runs.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "core/program.h"
#include "store/audit.h"
#include "store/clock.h"
#include "store/names.h"
#include "store/process_info.h"
#include "store/sealed_log.h"

namespace enclave::store {
namespace {

void validate_metric_key(std::string_view key) {
  if (key.empty() || key.size() > 250) {
    fail_input("metric key '{}': must be 1 to 250 characters", printable(key));
  }
  for (unsigned char c : key) {
    if (c < 0x20 || c == 0x7f)
      fail_input("metric key '{}': control characters are not allowed", printable(key));
  }
}

void validate_role(std::string_view role) {
  if (!role.empty()) validate_name(role, "input/output role");
}

void insert_metrics(Db& db, std::int64_t run_id, const std::vector<MetricPoint>& points) {
  Statement insert(
      db, "INSERT INTO metrics (run_id, key, step, value, time) VALUES (?1, ?2, ?3, ?4, ?5)");
  for (const MetricPoint& p : points) {
    insert.reset();
    insert.bind(1, run_id).bind(2, p.key).bind(3, p.step);
    if (std::isnan(p.value)) {
      insert.bind_null(4);  // SQLite cannot store NaN
    } else {
      insert.bind(4, p.value);
    }
    insert.bind(5, p.time).run();
  }
}

// RFC 7396 merge inside the caller's write transaction, so two processes
// adding params to one run never overwrite each other's keys. (SQLCipher's
// SQLite is built without JSON1, so no json_patch in SQL.)
void merge_params(Db& db, std::int64_t run_id, const nlohmann::json& params) {
  ENCLAVE_CHECK(db.in_transaction());
  Statement get(db, "SELECT params FROM runs WHERE id = ?1");
  get.bind(1, run_id);
  if (!get.step()) return;
  nlohmann::json merged = nlohmann::json::parse(get.text(0), nullptr, /*allow_exceptions=*/false);
  if (!merged.is_object()) merged = nlohmann::json::object();
  merged.merge_patch(params);
  Statement update(db, "UPDATE runs SET params = ?2 WHERE id = ?1");
  update.bind(1, run_id).bind(2, merged.dump()).run();
}

}  // namespace

std::string_view to_string(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning:
      return "running";
    case RunStatus::kFinished:
      return "finished";
    case RunStatus::kFailed:
      return "failed";
    case RunStatus::kKilled:
      return "killed";
  }
  return "failed";
}

RunStatus parse_run_status(std::string_view text) {
  if (text == "running") return RunStatus::kRunning;
  if (text == "finished") return RunStatus::kFinished;
  if (text == "failed") return RunStatus::kFailed;
  if (text == "killed") return RunStatus::kKilled;
  fail_input("run status '{}': expected running, finished, failed or killed", printable(text));
}

std::chrono::seconds default_stale_after() {
  if (const char* env = std::getenv("ENCLAVE_RUN_STALE_SECONDS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    long v = std::strtol(env, &end, 10);
    if (end != nullptr && *end == '\0' && v > 0) return std::chrono::seconds(v);
  }
  return std::chrono::seconds(300);
}

std::vector<std::int64_t> fail_dead_runs(Db& db, std::chrono::seconds stale_after) {
  struct Candidate {
    std::int64_t id;
    std::string message;
    double ended_at;
  };
  std::vector<Candidate> dead;
  double now = now_unix();
  {
    Statement q(db,
                "SELECT id, host, boot_id, pid, pid_start, heartbeat_at FROM runs"
                " WHERE status = 'running'");
    while (q.step()) {
      ProcessIdentity p{q.text(1), q.text(2), q.int64(3), q.int64(4)};
      double heartbeat = q.real(5);
      Liveness live = process_liveness(p);
      if (live == Liveness::kDead) {
        dead.push_back(
            {q.int64(0),
             fmt::format("process {} on {} died without finishing the run (last heartbeat {})",
                         p.pid, p.host, format_time(heartbeat)),
             heartbeat});
      } else if (live == Liveness::kUnknown &&
                 now - heartbeat > static_cast<double>(stale_after.count())) {
        dead.push_back({q.int64(0),
                        fmt::format("no heartbeat from process {} on {} since {} (stale after {}s)",
                                    p.pid, p.host, format_time(heartbeat), stale_after.count()),
                        heartbeat});
      }
    }
  }
  std::vector<std::int64_t> ids;
  if (dead.empty()) return ids;
  WriteTransaction tx(db);
  Statement update(db,
                   "UPDATE runs SET status = 'failed', ended_at = ?2, message = ?3"
                   " WHERE id = ?1 AND status = 'running'");
  for (const Candidate& c : dead) {
    update.reset();
    update.bind(1, c.id).bind(2, c.ended_at).bind(3, c.message).run();
    if (db.changes() > 0) ids.push_back(c.id);
  }
  tx.commit();
  return ids;
}

std::vector<MetricPoint> log_to_run(Db& db, std::int64_t run_id, const RunUpdate& update) {
  if (!update.params.is_object()) fail_input("run {}: params must be a JSON object", run_id);
  for (const RunUpdate::Metric& m : update.metrics) validate_metric_key(m.key);
  WriteTransaction tx(db);
  {
    Statement q(db, "SELECT status FROM runs WHERE id = ?1");
    q.bind(1, run_id);
    if (!q.step()) fail(ErrorKind::kNotFound, "run {} not found in this workspace", run_id);
    if (q.text(0) != "running") {
      fail_input("run {} is {}: metrics and params can only be added to a running run", run_id,
                 q.text(0));
    }
  }
  std::vector<MetricPoint> points;
  double now = now_unix();
  Statement last(db, "SELECT MAX(step) FROM metrics WHERE run_id = ?1 AND key = ?2");
  for (const RunUpdate::Metric& m : update.metrics) {
    std::int64_t step = 0;
    if (m.step) {
      step = *m.step;
    } else {
      // Earlier points of this same update count too.
      std::optional<std::int64_t> prev;
      for (const MetricPoint& p : points) {
        if (p.key == m.key) prev = std::max(prev.value_or(p.step), p.step);
      }
      last.reset();
      last.bind(1, run_id).bind(2, m.key);
      if (last.step() && !last.is_null(0))
        prev = std::max(prev.value_or(last.int64(0)), last.int64(0));
      last.reset();
      step = prev ? *prev + 1 : 0;
    }
    points.push_back({m.key, step, m.value, now});
  }
  insert_metrics(db, run_id, points);
  if (!update.params.empty()) merge_params(db, run_id, update.params);
  tx.commit();
  return points;
}

Run::Run(const std::filesystem::path& workspace_root, RunOptions options)
    : options_(std::move(options)), workspace_(std::make_unique<Workspace>(workspace_root)) {
  validate_name(options_.kind, "run kind");
  validate_tag_value(options_.name, "run name");  // shown in tables: no control characters
  if (!options_.params.is_object()) fail_input("run params: expected a JSON object");
  ProcessIdentity self = current_process();
  const ProgramIdentity program = program_identity();
  if (options_.command.empty()) options_.command = program.argv;
  double now = now_unix();
  Db& db = workspace_->db();
  WriteTransaction tx(db);
  Statement insert(
      db,
      "INSERT INTO runs (kind, name, command, params, program_version, build_id, host,"
      " boot_id, pid, pid_start, user, cwd, seed, status, started_at, heartbeat_at)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'running', ?14, ?14)");
  std::error_code ec;
  insert.bind(1, options_.kind)
      .bind(2, options_.name)
      .bind(3, nlohmann::json(options_.command).dump())
      .bind(4, options_.params.dump())
      .bind(5, program.version)
      .bind(6, program.build_id)
      .bind(7, self.host)
      .bind(8, self.boot_id)
      .bind(9, self.pid)
      .bind(10, self.start_ticks)
      .bind(11, os_user())
      .bind(12, std::filesystem::current_path(ec).string())
      .bind(13, options_.seed)
      .bind(14, now)
      .run();
  id_ = db.last_insert_rowid();
  std::string rel = fmt::format("logs/run-{}.log", id_);
  Statement set_log(db, "UPDATE runs SET log_path = ?2 WHERE id = ?1");
  set_log.bind(1, id_).bind(2, rel).run();
  // Every run (training, data, eval, merge, ...) is a change to the workspace.
  append_audit(db, "run", fmt::format("run {}", id_),
               {{"kind", options_.kind}, {"name", options_.name}, {"command", options_.command}});
  tx.commit();
  log_path_ = workspace_->dot_dir() / rel;
  last_flush_ = std::chrono::steady_clock::now();
  heartbeat_ = std::thread([this] { heartbeat_loop(); });
}

Run::~Run() {
  try {
    finish(RunStatus::kFailed, "the run ended without finish() (an error unwound past it)");
  } catch (...) {
    // A destructor must not throw; the next open marks the run failed anyway.
  }
  {
    std::lock_guard<std::mutex> lock(heartbeat_mutex_);
    stop_heartbeat_ = true;
  }
  heartbeat_cv_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
}

void Run::heartbeat_loop() {
  std::unique_ptr<Db> db;
  std::unique_lock<std::mutex> lock(heartbeat_mutex_);
  auto period = std::min(options_.heartbeat_interval, options_.metric_flush_interval);
  auto next_beat = std::chrono::steady_clock::now() + options_.heartbeat_interval;
  while (!heartbeat_cv_.wait_for(lock, period, [this] { return stop_heartbeat_; })) {
    lock.unlock();
    try {
      if (!db) db = std::make_unique<Db>(workspace_->db_path());
      // Points logged just before a long pause become durable here.
      flush_locked_with(*db);
      if (std::chrono::steady_clock::now() >= next_beat) {
        Statement beat(*db,
                       "UPDATE runs SET heartbeat_at = ?2 WHERE id = ?1 AND status = 'running'");
        beat.bind(1, id_).bind(2, now_unix()).run();
        next_beat = std::chrono::steady_clock::now() + options_.heartbeat_interval;
      }
    } catch (...) {
      // A busy or failing database must not kill the process; the next beat retries.
    }
    lock.lock();
  }
}

void Run::log_params(const nlohmann::json& params) {
  if (!params.is_object()) fail_input("run {}: params must be a JSON object", id_);
  std::lock_guard<std::mutex> lock(mutex_);
  Db& db = workspace_->db();
  WriteTransaction tx(db);
  merge_params(db, id_, params);
  tx.commit();
}

void Run::log_metric(std::string_view key, double value, std::int64_t step,
                     std::optional<double> time) {
  validate_metric_key(key);
  bool due = false;
  {
    std::lock_guard<std::mutex> lock(buffer_mutex_);
    buffer_.push_back({std::string(key), step, value, time.value_or(now_unix())});
    due = buffer_.size() >= options_.metric_flush_points ||
          std::chrono::steady_clock::now() - last_flush_ >= options_.metric_flush_interval;
  }
  if (due) flush();
}

void Run::flush() {
  std::lock_guard<std::mutex> lock(mutex_);
  flush_locked_with(workspace_->db());
}

void Run::flush_locked_with(Db& db) {
  std::lock_guard<std::mutex> flush_lock(flush_mutex_);
  std::vector<MetricPoint> batch;
  {
    std::lock_guard<std::mutex> lock(buffer_mutex_);
    batch.swap(buffer_);
    last_flush_ = std::chrono::steady_clock::now();
  }
  if (batch.empty()) return;
  try {
    WriteTransaction tx(db);
    insert_metrics(db, id_, batch);
    tx.commit();
  } catch (...) {
    // Put the points back in front so nothing is lost if the caller retries.
    std::lock_guard<std::mutex> lock(buffer_mutex_);
    batch.insert(batch.end(), std::make_move_iterator(buffer_.begin()),
                 std::make_move_iterator(buffer_.end()));
    buffer_.swap(batch);
    throw;
  }
}

void Run::record_io(Direction direction, std::string_view role, const std::string* artifact,
                    std::optional<std::int64_t> version_id) {
  Db& db = workspace_->db();
  Statement insert(db,
                   "INSERT INTO run_io (run_id, direction, role, artifact, version_id)"
                   " VALUES (?1, ?2, ?3, ?4, ?5)");
  insert.bind(1, id_).bind(2, direction == Direction::kInput ? "input" : "output").bind(3, role);
  if (artifact != nullptr) {
    insert.bind(4, *artifact);
  } else {
    insert.bind_null(4);
  }
  insert.bind(5, version_id).run();
}

Artifact Run::log_path_artifact(Direction direction, const std::filesystem::path& path,
                                std::string_view role) {
  validate_role(role);
  std::lock_guard<std::mutex> lock(mutex_);
  StoreLock store_lock(*workspace_, StoreLock::Mode::kShared);
  Artifact a = stage_artifact(*workspace_, path, /*show_progress=*/true);
  WriteTransaction tx(workspace_->db());
  record_artifact(workspace_->db(), workspace_->objects(), a);
  record_io(direction, role, &a.digest, std::nullopt);
  tx.commit();
  return a;
}

Artifact Run::log_input(const std::filesystem::path& path, std::string_view role) {
  return log_path_artifact(Direction::kInput, path, role);
}

Artifact Run::log_output(const std::filesystem::path& path, std::string_view role) {
  return log_path_artifact(Direction::kOutput, path, role);
}

void Run::log_reference(Direction direction, std::string_view role,
                        std::optional<std::string> digest, std::optional<std::int64_t> version_id) {
  validate_role(role);
  if (digest) parse_digest(*digest);
  std::lock_guard<std::mutex> lock(mutex_);
  Db& db = workspace_->db();
  WriteTransaction tx(db);
  if (digest && !find_artifact(db, *digest)) {
    fail(ErrorKind::kNotFound, "artifact {} is not in this workspace", *digest);
  }
  if (version_id) {
    Statement q(db, "SELECT 1 FROM registry_versions WHERE id = ?1");
    q.bind(1, *version_id);
    if (!q.step())
      fail(ErrorKind::kNotFound, "registry version id {} is not in this workspace", *version_id);
  }
  record_io(direction, role, digest ? &*digest : nullptr, version_id);
  tx.commit();
}

void Run::log_input_artifact(std::string_view digest, std::string_view role) {
  log_reference(Direction::kInput, role, std::string(digest), std::nullopt);
}

void Run::log_output_artifact(std::string_view digest, std::string_view role) {
  log_reference(Direction::kOutput, role, std::string(digest), std::nullopt);
}

void Run::log_input_version(std::int64_t version_id, std::string_view role) {
  log_reference(Direction::kInput, role, std::nullopt, version_id);
}

void Run::log_output_version(std::int64_t version_id, std::string_view role) {
  log_reference(Direction::kOutput, role, std::nullopt, version_id);
}

void Run::log_text(std::string_view text) {
  std::lock_guard<std::mutex> lock(mutex_);
  append_log(log_path_, text, workspace_key_for(workspace_->dot_dir()));
}

void Run::finish(RunStatus status, std::string_view message) {
  ENCLAVE_CHECK(status != RunStatus::kRunning);
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  flush_locked_with(workspace_->db());
  Db& db = workspace_->db();
  WriteTransaction tx(db);
  // The owner knows best: this also corrects a run another process declared
  // dead while it was only slow to beat.
  Statement update(db, "UPDATE runs SET status = ?2, ended_at = ?3, message = ?4 WHERE id = ?1");
  update.bind(1, id_).bind(2, to_string(status)).bind(3, now_unix()).bind(4, message).run();
  tx.commit();
  finished_ = true;
}

}  // namespace enclave::store
