#include "pipeline/triggers.h"

#include <fmt/format.h>

#include <fstream>

#include "core/error.h"
#include "store/clock.h"
#include "store/registry.h"
#include "store/workspace.h"

namespace enclave::pipeline {
namespace fs = std::filesystem;
namespace {

using Outcome = TriggerCheck::Outcome;

std::int64_t count_lines(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::int64_t n = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) ++n;
  }
  return n;
}

std::int64_t cursor_int(const nlohmann::json& cursor, const char* key) {
  return cursor.contains(key) && cursor[key].is_number_integer() ? cursor[key].get<std::int64_t>()
                                                                 : 0;
}

struct Latest {
  std::int64_t id = 0;
  std::string ref;
  std::int64_t n_after = 0;  // versions with a larger id than asked
};

Latest latest_version(store::Db& db, const std::string& name, std::int64_t after) {
  store::Statement q(db,
                     "SELECT id, version, (SELECT COUNT(*) FROM registry_versions WHERE kind = "
                     "'dataset' AND name = ?1 AND id > ?2 AND deleted_at IS NULL) FROM "
                     "registry_versions WHERE kind = 'dataset' AND name = ?1 AND deleted_at IS "
                     "NULL ORDER BY id DESC LIMIT 1");
  q.bind(1, name).bind(2, after);
  Latest l;
  if (q.step()) {
    l.id = q.int64(0);
    l.ref = name + "@" + std::to_string(q.int64(1));
    l.n_after = q.int64(2);
  }
  return l;
}

TriggerCheck check_feedback(const Trigger& t, const nlohmann::json& cursor,
                            const TriggerSources& sources) {
  if (!sources.feedback_high_water)
    return {Outcome::kNotEvaluated, "no request log reader", cursor};
  const std::int64_t high = sources.feedback_high_water();
  if (cursor.is_null())
    return {Outcome::kBaseline,
            fmt::format("feedback rows counted after id {}", high),
            {{"feedback_id", high}}};
  const std::int64_t n = high - cursor_int(cursor, "feedback_id");
  if (n >= t.threshold)
    return {Outcome::kFire,
            fmt::format("{} new feedback rows >= {}", n, t.threshold),
            {{"feedback_id", high}}};
  return {Outcome::kWait, fmt::format("{} new feedback rows < {}", n, t.threshold), cursor};
}

TriggerCheck check_dataset(const fs::path& root, store::Db& db, const Trigger& t,
                           const nlohmann::json& cursor) {
  if (!t.rows) {
    const Latest l = latest_version(db, t.name, cursor_int(cursor, "version_id"));
    if (cursor.is_null())
      return {Outcome::kBaseline,
              l.id == 0 ? fmt::format("dataset {} has no version yet", t.name)
                        : fmt::format("versions counted after {}", l.ref),
              {{"version_id", l.id}}};
    if (l.n_after >= t.threshold)
      return {Outcome::kFire,
              fmt::format("{} new versions of dataset {} >= {} (latest {})", l.n_after, t.name,
                          t.threshold, l.ref),
              {{"version_id", l.id}}};
    return {Outcome::kWait,
            fmt::format("{} new versions of dataset {} < {}", l.n_after, t.name, t.threshold),
            cursor};
  }
  const Latest l = latest_version(db, t.name, 0);
  nlohmann::json next = cursor.is_null() ? nlohmann::json::object() : cursor;
  if (l.id != 0 && cursor_int(next, "seen_version") != l.id) {
    next["seen_version"] = l.id;
    next["seen_rows"] = dataset_rows(root, l.ref);
  }
  const std::int64_t rows = cursor_int(next, "seen_rows");
  if (cursor.is_null()) {
    next["base_rows"] = rows;
    return {Outcome::kBaseline, fmt::format("dataset {}: rows counted from {}", t.name, rows),
            next};
  }
  const std::int64_t grown = rows - cursor_int(next, "base_rows");
  if (grown >= t.threshold) {
    next["base_rows"] = rows;
    return {Outcome::kFire,
            fmt::format("dataset {} grew by {} rows >= {} ({})", t.name, grown, t.threshold, l.ref),
            next};
  }
  return {Outcome::kWait,
          fmt::format("dataset {} grew by {} rows < {}", t.name, grown, t.threshold), next};
}

TriggerCheck check_alias(store::Db& db, const Trigger& t, const nlohmann::json& cursor) {
  std::optional<store::VersionInfo> v;
  try {
    v = store::resolve_version(db, store::RegistryKind::kModel, t.name + ":" + t.alias);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kNotFound) throw;
  }
  const std::int64_t id = v ? v->id : 0;
  const std::string now_ref = v ? v->ref() : "nothing";
  nlohmann::json next = {{"version_id", id}, {"ref", now_ref}};
  if (cursor.is_null())
    return {Outcome::kBaseline, fmt::format("{}:{} points at {}", t.name, t.alias, now_ref), next};
  if (cursor_int(cursor, "version_id") != id && id != 0)
    return {Outcome::kFire,
            fmt::format("{}:{} moved from {} to {}", t.name, t.alias,
                        cursor.value("ref", std::string("nothing")), now_ref),
            next};
  return {Outcome::kWait, fmt::format("{}:{} still points at {}", t.name, t.alias, now_ref),
          cursor};
}

TriggerCheck check_schedule(const Trigger& t, const nlohmann::json& cursor, double now) {
  nlohmann::json next = {{"checked_at", now}};
  if (cursor.is_null() || !cursor.contains("checked_at") || !cursor["checked_at"].is_number())
    return {Outcome::kBaseline,
            fmt::format("'{}' counted from {}", t.schedule->text, store::format_time(now)), next};
  const double last = cursor["checked_at"].get<double>();
  if (auto due = cron_next(*t.schedule, last, now)) {
    return {Outcome::kFire,
            fmt::format("'{}' was due at {}", t.schedule->text, store::format_time(*due)), next};
  }
  return {Outcome::kWait,
          fmt::format("'{}' not due since {}", t.schedule->text, store::format_time(last)), next};
}

TriggerCheck check_pipeline(store::Db& db, const Trigger& t, const nlohmann::json& cursor) {
  store::Statement q(db,
                     "SELECT id, status FROM pipeline_runs WHERE pipeline = ?1 AND id > ?2 AND "
                     "status IN ('succeeded', 'failed', 'rejected') ORDER BY id");
  q.bind(1, t.name).bind(2, cursor_int(cursor, "run_id"));
  std::int64_t last = cursor_int(cursor, "run_id");
  std::optional<std::pair<std::int64_t, std::string>> match;
  while (q.step()) {
    last = q.int64(0);
    const std::string status = q.text(1);
    if (t.status == "any" || t.status == status) match = {{last, status}};
  }
  nlohmann::json next = {{"run_id", last}};
  if (cursor.is_null())
    return {Outcome::kBaseline,
            fmt::format("runs of pipeline {} counted after run {}", t.name, last), next};
  if (match)
    return {Outcome::kFire,
            fmt::format("pipeline {} run {} {}", t.name, match->first, match->second), next};
  return {Outcome::kWait, fmt::format("no run of pipeline {} ended {} since", t.name, t.status),
          next};
}

TriggerCheck check_monitor(const Trigger& t, const nlohmann::json& cursor,
                           const TriggerSources& sources) {
  if (!sources.monitor_alert) return {Outcome::kNotEvaluated, "no monitor reader", cursor};
  MonitorCheck c;
  try {
    c = sources.monitor_alert("pipeline:" + t.name, t.spec);
  } catch (const Error& e) {
    // A missing request log is the state of a workspace that serves nothing
    // yet; a bad spec is reported on every check until the file is fixed.
    return {Outcome::kWait, e.what(), cursor.is_null() ? nlohmann::json::object() : cursor};
  }
  nlohmann::json next = {{"firing", c.firing}};
  if (c.raised) return {Outcome::kFire, c.reason, next};
  return {cursor.is_null() ? Outcome::kBaseline : Outcome::kWait, c.reason, next};
}

}  // namespace

std::int64_t dataset_rows(const fs::path& root, const std::string& ref) {
  store::Workspace ws(root);
  const fs::path p = store::version_path(ws, store::RegistryKind::kDataset, ref, /*verify=*/false);
  if (fs::is_regular_file(p)) return count_lines(p);
  std::int64_t jsonl = 0, all = 0;
  bool any_jsonl = false;
  for (const auto& e : fs::recursive_directory_iterator(p)) {
    if (!e.is_regular_file()) continue;
    const std::int64_t n = count_lines(e.path());
    all += n;
    if (e.path().extension() == ".jsonl") {
      jsonl += n;
      any_jsonl = true;
    }
  }
  return any_jsonl ? jsonl : all;
}

TriggerCheck check_trigger(const fs::path& root, store::Db& db, const Trigger& t,
                           const nlohmann::json& cursor, double now,
                           const TriggerSources& sources) {
  switch (t.kind) {
    case Trigger::Kind::kFeedback:
      return check_feedback(t, cursor, sources);
    case Trigger::Kind::kDataset:
      return check_dataset(root, db, t, cursor);
    case Trigger::Kind::kModelAlias:
      return check_alias(db, t, cursor);
    case Trigger::Kind::kSchedule:
      return check_schedule(t, cursor, now);
    case Trigger::Kind::kPipeline:
      return check_pipeline(db, t, cursor);
    case Trigger::Kind::kMonitor:
      return check_monitor(t, cursor, sources);
  }
  ENCLAVE_CHECK(false);
}

}  // namespace enclave::pipeline
