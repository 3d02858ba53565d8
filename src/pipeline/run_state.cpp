#include "pipeline/run_state.h"

#include <fmt/format.h>

#include "core/error.h"
#include "store/clock.h"
#include "store/process_info.h"
#include "store/upsert.h"

namespace enclave::pipeline {
namespace {

nlohmann::json strings_json(const std::vector<std::string>& v) { return nlohmann::json(v); }

std::vector<std::string> json_strings(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const auto& s : j) {
      if (s.is_string()) out.push_back(s.get<std::string>());
    }
  }
  return out;
}

bool owner_alive(store::Statement& q, int col) {
  store::ProcessIdentity p{.host = q.text(col),
                           .boot_id = q.text(col + 1),
                           .pid = q.int64(col + 2),
                           .start_ticks = q.int64(col + 3)};
  if (p.pid == 0) return false;
  // Another host can only be trusted to be alive.
  return store::process_liveness(p) != store::Liveness::kDead;
}

constexpr const char* kRunColumns =
    "id, pipeline, file, params, target, forced, status, trigger, message, created_at, "
    "updated_at, ended_at, owner_host, owner_boot, owner_pid, owner_start";

RunRecord read_run(store::Statement& q) {
  RunRecord r;
  r.id = q.int64(0);
  r.pipeline = q.text(1);
  r.file = q.text(2);
  r.params = json_strings(q.text(3));
  r.target = q.text(4);
  r.forced = json_strings(q.text(5));
  r.status = q.text(6);
  r.trigger = q.text(7);
  r.message = q.text(8);
  r.created_at = q.real(9);
  r.updated_at = q.real(10);
  if (!q.is_null(11)) r.ended_at = q.real(11);
  r.owner_alive = owner_alive(q, 12);
  r.owner_pid = q.int64(14);
  return r;
}

void set_owner(store::Db& db, std::int64_t id, double now) {
  const store::ProcessIdentity me = store::current_process();
  store::Statement u(db,
                     "UPDATE pipeline_runs SET owner_host = ?2, owner_boot = ?3, owner_pid = ?4, "
                     "owner_start = ?5, status = 'running', updated_at = ?6, ended_at = NULL, "
                     "message = '' WHERE id = ?1");
  u.bind(1, id).bind(2, me.host).bind(3, me.boot_id).bind(4, me.pid).bind(5, me.start_ticks);
  u.bind(6, now).run();
}

// Running runs of pipeline other than except: marks dead ones failed and
// throws for a live one.
void refuse_live_runs(store::Db& db, const std::string& pipeline, std::int64_t except, double now) {
  store::Statement q(db, fmt::format("SELECT {} FROM pipeline_runs WHERE pipeline = ?1 AND "
                                     "status = 'running' AND id != ?2",
                                     kRunColumns));
  q.bind(1, pipeline).bind(2, except);
  std::vector<std::int64_t> dead;
  while (q.step()) {
    RunRecord r = read_run(q);
    if (r.owner_alive) {
      fail_input("pipeline {}: run {} is still running (one run of a pipeline at a time)", pipeline,
                 r.id);
    }
    dead.push_back(r.id);
  }
  for (std::int64_t id : dead) finish_run(db, id, "failed", "its process died", now);
}

}  // namespace

std::int64_t insert_run(store::Db& db, const NewRun& run, double now) {
  ENCLAVE_CHECK(db.in_transaction());
  refuse_live_runs(db, run.pipeline, 0, now);
  store::Statement ins(db,
                       "INSERT INTO pipeline_runs (pipeline, file, params, target, forced, status, "
                       "trigger, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 'running', "
                       "?6, ?7, ?7)");
  ins.bind(1, run.pipeline).bind(2, run.file).bind(3, strings_json(run.params).dump());
  ins.bind(4, run.target).bind(5, strings_json(run.forced).dump()).bind(6, run.trigger);
  ins.bind(7, now).run();
  const std::int64_t id = db.last_insert_rowid();
  set_owner(db, id, now);
  for (const std::string& stage : run.stages) {
    save_stage(db, id, StageRecord{.stage = stage});
  }
  return id;
}

void claim_run(store::Db& db, std::int64_t id, double now) {
  store::WriteTransaction tx(db);
  store::Statement q(db, fmt::format("SELECT {} FROM pipeline_runs WHERE id = ?1", kRunColumns));
  q.bind(1, id);
  if (!q.step()) fail(ErrorKind::kNotFound, "no pipeline run {}", id);
  RunRecord r = read_run(q);
  // The watcher that created a run runs it too: its own run is not "live elsewhere".
  if (r.status == "running" && r.owner_alive && r.owner_pid != store::current_process().pid) {
    fail_input("pipeline run {} is being run by process {}; wait for it to finish", id,
               r.owner_pid);
  }
  refuse_live_runs(db, r.pipeline, id, now);
  set_owner(db, id, now);
  tx.commit();
}

std::optional<std::int64_t> orphaned_run(store::Db& db, const std::string& pipeline) {
  store::Statement q(db, fmt::format("SELECT {} FROM pipeline_runs WHERE pipeline = ?1 AND "
                                     "status = 'running' ORDER BY id",
                                     kRunColumns));
  q.bind(1, pipeline);
  while (q.step()) {
    RunRecord r = read_run(q);
    if (!r.owner_alive) return r.id;
  }
  return std::nullopt;
}

bool has_live_run(store::Db& db, const std::string& pipeline) {
  store::Statement q(db, fmt::format("SELECT {} FROM pipeline_runs WHERE pipeline = ?1 AND "
                                     "status = 'running'",
                                     kRunColumns));
  q.bind(1, pipeline);
  while (q.step()) {
    if (read_run(q).owner_alive) return true;
  }
  return false;
}

RunRecord load_run(store::Db& db, std::int64_t id) {
  store::Statement q(db, fmt::format("SELECT {} FROM pipeline_runs WHERE id = ?1", kRunColumns));
  q.bind(1, id);
  if (!q.step()) fail(ErrorKind::kNotFound, "no pipeline run {}", id);
  RunRecord r = read_run(q);
  store::Statement s(db,
                     "SELECT stage, status, approved, store_run, cmd, outs, message, started_at, "
                     "ended_at FROM pipeline_stages WHERE run_id = ?1 ORDER BY "
                     "COALESCE(started_at, 1e300), stage");
  s.bind(1, id);
  while (s.step()) {
    StageRecord st;
    st.stage = s.text(0);
    st.status = s.text(1);
    st.approved = s.int64(2) != 0;
    st.store_run = s.optional_int64(3);
    st.cmd = s.text(4);
    st.outs = nlohmann::json::parse(s.text(5), nullptr, false);
    if (!st.outs.is_object()) st.outs = nlohmann::json::object();
    st.message = s.text(6);
    if (!s.is_null(7)) st.started_at = s.real(7);
    if (!s.is_null(8)) st.ended_at = s.real(8);
    r.stages.push_back(std::move(st));
  }
  return r;
}

void save_stage(store::Db& db, std::int64_t run_id, const StageRecord& st) {
  store::update_or_insert(
      db,
      "UPDATE pipeline_stages SET status = ?3, approved = ?4, store_run = ?5, cmd = ?6, "
      "outs = ?7, message = ?8, started_at = ?9, ended_at = ?10 WHERE run_id = ?1 AND stage = ?2",
      "INSERT INTO pipeline_stages (run_id, stage, status, approved, store_run, cmd, outs, "
      "message, started_at, ended_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
      [&](store::Statement& u) {
        u.bind(1, run_id).bind(2, st.stage).bind(3, st.status).bind(4, st.approved ? 1 : 0);
        u.bind(5, st.store_run).bind(6, st.cmd).bind(7, st.outs.dump()).bind(8, st.message);
        u.bind(9, st.started_at).bind(10, st.ended_at);
      });
}

void finish_run(store::Db& db, std::int64_t id, const std::string& status,
                const std::string& message, double now) {
  store::Statement u(db,
                     "UPDATE pipeline_runs SET status = ?2, message = ?3, updated_at = ?4, "
                     "ended_at = CASE WHEN ?2 IN ('running', 'waiting_approval') THEN NULL ELSE ?4 "
                     "END, owner_pid = 0 WHERE id = ?1");
  u.bind(1, id).bind(2, status).bind(3, message).bind(4, now).run();
}

std::vector<RunRecord> list_runs(store::Db& db, const RunFilter& filter) {
  store::Statement q(db, fmt::format("SELECT {} FROM pipeline_runs WHERE (?1 = '' OR pipeline = "
                                     "?1) ORDER BY id DESC LIMIT ?2",
                                     kRunColumns));
  q.bind(1, filter.pipeline).bind(2, filter.limit > 0 ? filter.limit : std::int64_t{-1});
  std::vector<std::int64_t> ids;
  while (q.step()) ids.push_back(q.int64(0));
  std::vector<RunRecord> out;
  for (std::int64_t id : ids) out.push_back(load_run(db, id));
  return out;
}

nlohmann::json run_json(const RunRecord& r) {
  nlohmann::json stages = nlohmann::json::array();
  for (const StageRecord& s : r.stages) {
    nlohmann::json j = {{"name", s.stage},
                        {"status", s.status},
                        {"run", s.store_run ? nlohmann::json(*s.store_run) : nlohmann::json()},
                        {"outs", s.outs}};
    if (!s.cmd.empty()) j["cmd"] = s.cmd;
    if (!s.message.empty()) j["message"] = s.message;
    if (s.started_at) j["started_at"] = store::format_time(*s.started_at);
    if (s.ended_at) j["ended_at"] = store::format_time(*s.ended_at);
    stages.push_back(j);
  }
  nlohmann::json j = {{"run", r.id},        {"pipeline", r.pipeline},
                      {"status", r.status}, {"stages", stages},
                      {"file", r.file},     {"trigger", r.trigger},
                      {"params", r.params}, {"created_at", store::format_time(r.created_at)}};
  if (!r.target.empty()) j["target"] = r.target;
  if (!r.message.empty()) j["message"] = r.message;
  if (r.ended_at) j["ended_at"] = store::format_time(*r.ended_at);
  return j;
}

std::string format_run(const RunRecord& r) {
  std::string out = fmt::format("pipeline run {} of {}: {}{}\n", r.id, r.pipeline, r.status,
                                r.message.empty() ? "" : " (" + r.message + ")");
  out += fmt::format("  file     {}\n  trigger  {}\n  started  {}\n", r.file, r.trigger,
                     store::format_time(r.created_at));
  if (r.ended_at) {
    out += fmt::format("  ended    {} ({})\n", store::format_time(*r.ended_at),
                       store::format_elapsed(*r.ended_at - r.created_at));
  }
  std::size_t width = 5;
  for (const StageRecord& s : r.stages) width = std::max(width, s.stage.size());
  out += fmt::format("  {:<{}}  {:<16}  {:>6}  {}\n", "stage", width, "status", "run", "outs");
  for (const StageRecord& s : r.stages) {
    std::string outs;
    for (const auto& [k, v] : s.outs.items())
      outs += (outs.empty() ? "" : ", ") + (v.is_string() ? v.get<std::string>() : v.dump());
    out += fmt::format("  {:<{}}  {:<16}  {:>6}  {}\n", s.stage, width, s.status,
                       s.store_run ? std::to_string(*s.store_run) : "-", outs);
    if (!s.message.empty() && s.status != "succeeded")
      out += fmt::format("  {:<{}}  {}\n", "", width, s.message);
  }
  return out;
}

nlohmann::json runs_json(const std::vector<RunRecord>& runs) {
  nlohmann::json out = nlohmann::json::array();
  for (const RunRecord& r : runs) out.push_back(run_json(r));
  return out;
}

std::string format_runs(const std::vector<RunRecord>& runs) {
  if (runs.empty()) return "no pipeline runs\n";
  std::string out = fmt::format("{:>5}  {:<20}  {:<16}  {:<10}  {:<24}  {}\n", "run", "pipeline",
                                "status", "trigger", "started", "stages");
  for (const RunRecord& r : runs) {
    int done = 0;
    for (const StageRecord& s : r.stages) done += s.status == "succeeded" || s.status == "cached";
    out += fmt::format("{:>5}  {:<20}  {:<16}  {:<10}  {:<24}  {}/{} done\n", r.id, r.pipeline,
                       r.status, r.trigger.substr(0, 10), store::format_time(r.created_at), done,
                       r.stages.size());
  }
  return out;
}

}  // namespace enclave::pipeline
