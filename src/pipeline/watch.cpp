#include "pipeline/watch.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "core/error.h"
#include "pipeline/clock.h"
#include "pipeline/run_state.h"
#include "pipeline/runner.h"
#include "pipeline/spec.h"
#include "store/clock.h"
#include "store/upsert.h"
#include "store/workspace.h"

namespace enclave::pipeline {
namespace fs = std::filesystem;
namespace {

std::vector<fs::path> pipeline_files(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::optional<nlohmann::json> load_cursor(store::Db& db, const std::string& pipeline,
                                          const std::string& trigger) {
  store::Statement q(db,
                     "SELECT cursor FROM pipeline_triggers WHERE pipeline = ?1 AND trigger = ?2");
  q.bind(1, pipeline).bind(2, trigger);
  if (!q.step()) return std::nullopt;
  return nlohmann::json::parse(q.text(0), nullptr, false);
}

void store_cursor(store::Db& db, const std::string& pipeline, const std::string& trigger,
                  const nlohmann::json& cursor, double now, bool fired) {
  store::update_or_insert(
      db,
      "UPDATE pipeline_triggers SET cursor = ?3, checked_at = ?4, fired_at = CASE WHEN ?5 THEN "
      "?4 ELSE fired_at END WHERE pipeline = ?1 AND trigger = ?2",
      "INSERT INTO pipeline_triggers (pipeline, trigger, cursor, checked_at, fired_at) VALUES "
      "(?1, ?2, ?3, ?4, CASE WHEN ?5 THEN ?4 END)",
      [&](store::Statement& u) {
        u.bind(1, pipeline).bind(2, trigger).bind(3, cursor.dump()).bind(4, now);
        u.bind(5, fired ? 1 : 0);
      });
}

class Watcher {
 public:
  explicit Watcher(const WatchOptions& o) : o_(o), ws_(o.workspace_root) {}

  ~Watcher() { join_all(); }

  void round() {
    reap();
    std::map<std::string, fs::path> seen;
    for (const fs::path& file : pipeline_files(o_.dir)) {
      try {
        check_file(file, seen);
      } catch (const Error& e) {
        say("-", fmt::format("{}: skipped: {}", file.string(), e.what()));
      }
    }
  }

  void join_all() {
    for (auto& [name, f] : running_) f.wait();
    reap();
  }

 private:
  void say(const std::string& pipeline, const std::string& text) {
    if (o_.log) o_.log(fmt::format("{} {} {}", store::format_time(pipeline_now()), pipeline, text));
  }

  void reap() {
    for (auto it = running_.begin(); it != running_.end();) {
      if (it->second.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
        it = running_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void start(const std::string& name, std::int64_t run_id) {
    running_[name] = std::async(std::launch::async, [this, name, run_id] {
      try {
        PipelineRunOptions r;
        r.workspace_root = o_.workspace_root;
        r.resume = run_id;
        r.jobs = o_.jobs;
        r.progress = [this](const std::string& line) {
          if (o_.log) o_.log(line);
        };
        RunRecord done = run_pipeline(r);
        say(name, fmt::format("run {} ended: {}{}", run_id, done.status,
                              done.message.empty() ? "" : " (" + done.message + ")"));
      } catch (const std::exception& e) {
        say(name, fmt::format("run {} could not run: {}", run_id, e.what()));
      }
    });
  }

  void check_file(const fs::path& file, std::map<std::string, fs::path>& seen) {
    const PipelineSpec spec = load_pipeline(file);
    const std::string& name = spec.name;
    if (auto [it, fresh] = seen.emplace(name, file); !fresh) {
      say(name, fmt::format("{}: skipped: pipeline {} is also defined in {}", file.string(), name,
                            it->second.string()));
      return;
    }
    if (running_.contains(name)) {
      say(name, "busy: a run started by this watcher is still running; triggers wait");
      return;
    }
    if (has_live_run(ws_.db(), name)) {
      say(name, "busy: another process is running it; triggers wait");
      return;
    }
    if (auto orphan = orphaned_run(ws_.db(), name)) {
      // A run a trigger started is the watcher's to finish; one started by
      // hand and interrupted is left to its user (`pipeline run --resume`).
      if (load_run(ws_.db(), *orphan).trigger != "manual") {
        say(name, fmt::format("resume: run {} was left running by a process that died", *orphan));
        start(name, *orphan);
        return;
      }
      store::WriteTransaction tx(ws_.db());
      finish_run(ws_.db(), *orphan, "failed", "its process died", pipeline_now());
      tx.commit();
      say(name, fmt::format("run {} (started by hand) was left running by a process that died: "
                            "marked failed; continue it with `enclave pipeline run --resume {}`",
                            *orphan, *orphan));
    }
    const double now = pipeline_now();
    std::vector<std::pair<const Trigger*, TriggerCheck>> checks;
    for (const Trigger& t : spec.triggers) {
      std::optional<nlohmann::json> cursor = load_cursor(ws_.db(), name, t.id);
      checks.emplace_back(&t, check_trigger(o_.workspace_root, ws_.db(), t,
                                            cursor ? *cursor : nlohmann::json(), now, o_.sources));
    }
    std::string fired;
    for (const auto& [t, c] : checks) {
      if (c.outcome == TriggerCheck::Outcome::kFire) fired += (fired.empty() ? "" : ", ") + t->id;
    }
    store::WriteTransaction tx(ws_.db());
    std::int64_t run_id = 0;
    if (!fired.empty()) run_id = create_pipeline_run(ws_.db(), file, fired, now);
    for (const auto& [t, c] : checks) {
      const bool fire = c.outcome == TriggerCheck::Outcome::kFire;
      if (c.outcome != TriggerCheck::Outcome::kNotEvaluated)
        store_cursor(ws_.db(), name, t->id, c.cursor, now, fire);
      if (fire) {
        store::Statement ins(ws_.db(),
                             "INSERT INTO pipeline_fires (pipeline, trigger, reason, run_id, "
                             "fired_at) VALUES (?1, ?2, ?3, ?4, ?5)");
        ins.bind(1, name).bind(2, t->id).bind(3, c.reason).bind(4, run_id).bind(5, now).run();
      }
    }
    tx.commit();
    for (const auto& [t, c] : checks) {
      const char* what = "wait";
      switch (c.outcome) {
        case TriggerCheck::Outcome::kBaseline:
          what = "baseline";
          break;
        case TriggerCheck::Outcome::kFire:
          what = "fire";
          break;
        case TriggerCheck::Outcome::kNotEvaluated:
          what = "not evaluated";
          break;
        case TriggerCheck::Outcome::kWait:
          break;
      }
      say(name, fmt::format("trigger {}: {}: {}", t->id, what, c.reason));
    }
    if (spec.triggers.empty()) say(name, "no triggers (on:); run it with `enclave pipeline run`");
    if (run_id != 0) {
      say(name, fmt::format("start: run {} for {}", run_id, fired));
      start(name, run_id);
    }
  }

  const WatchOptions& o_;
  store::Workspace ws_;
  std::map<std::string, std::future<void>> running_;
};

}  // namespace

void watch(const WatchOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(options.dir, ec))
    fail(ErrorKind::kNotFound, "pipeline watch: {} is not a folder of pipeline files",
         options.dir.string());
  Watcher w(options);
  if (options.log)
    options.log(fmt::format("{} - watching {} every {}s", store::format_time(pipeline_now()),
                            fs::absolute(options.dir).string(), options.interval_seconds));
  while (true) {
    w.round();
    if (options.once) break;
    std::this_thread::sleep_for(std::chrono::duration<double>(options.interval_seconds));
  }
  w.join_all();
}

nlohmann::json pipeline_status(const fs::path& root, const fs::path& dir, const std::string& name) {
  store::Workspace ws(root);
  std::map<std::string, nlohmann::json> out;
  std::map<std::string, std::vector<nlohmann::json>> declared;  // pipeline -> trigger specs
  for (const fs::path& file : pipeline_files(dir)) {
    try {
      const PipelineSpec spec = load_pipeline(file);
      out[spec.name]["file"] = spec.file.string();
      for (const Trigger& t : spec.triggers)
        declared[spec.name].push_back({{"id", t.id}, {"spec", t.spec}});
    } catch (const Error& e) {
      out["(" + file.filename().string() + ")"] = {{"file", file.string()}, {"error", e.what()}};
    }
  }
  {
    store::Statement q(ws.db(), "SELECT DISTINCT pipeline FROM pipeline_runs");
    while (q.step()) out[q.text(0)];
  }
  if (!name.empty()) {
    if (!out.contains(name))
      fail(ErrorKind::kNotFound, "pipeline {}: no file in {} and no recorded run", name,
           dir.string());
    auto keep = out[name];
    out = {{name, keep}};
  }
  nlohmann::json list = nlohmann::json::array();
  for (auto& [pname, j] : out) {
    j["name"] = pname;
    if (!j.contains("file")) j["file"] = nullptr;
    auto runs = list_runs(ws.db(), {.pipeline = pname, .limit = 1});
    j["last_run"] = runs.empty()
                        ? nlohmann::json()
                        : nlohmann::json{{"run", runs[0].id},
                                         {"status", runs[0].status},
                                         {"trigger", runs[0].trigger},
                                         {"created_at", store::format_time(runs[0].created_at)}};
    nlohmann::json triggers = nlohmann::json::array();
    for (nlohmann::json t : declared[pname]) {
      store::Statement q(ws.db(),
                         "SELECT checked_at, fired_at, (SELECT COUNT(*) FROM pipeline_fires f "
                         "WHERE f.pipeline = ?1 AND f.trigger = ?2) FROM pipeline_triggers WHERE "
                         "pipeline = ?1 AND trigger = ?2");
      q.bind(1, pname).bind(2, t["id"].get<std::string>());
      t["checked_at"] = nullptr;
      t["fired_at"] = nullptr;
      t["fires"] = 0;
      if (q.step()) {
        if (!q.is_null(0)) t["checked_at"] = store::format_time(q.real(0));
        if (!q.is_null(1)) t["fired_at"] = store::format_time(q.real(1));
        t["fires"] = q.int64(2);
      }
      triggers.push_back(t);
    }
    j["triggers"] = triggers;
    list.push_back(j);
  }
  return {{"pipelines", list}};
}

std::string format_pipeline_status(const nlohmann::json& status) {
  std::string out;
  for (const auto& p : status["pipelines"]) {
    out += fmt::format("{}  {}\n", p["name"].get<std::string>(),
                       p["file"].is_string() ? p["file"].get<std::string>() : "(no file)");
    if (p.contains("error")) out += fmt::format("  error: {}\n", p["error"].get<std::string>());
    if (p.contains("last_run") && !p["last_run"].is_null()) {
      const auto& r = p["last_run"];
      out += fmt::format("  last run {}: {} ({}, {})\n", r["run"].get<std::int64_t>(),
                         r["status"].get<std::string>(), r["trigger"].get<std::string>(),
                         r["created_at"].get<std::string>());
    } else {
      out += "  no runs yet\n";
    }
    for (const auto& t : p.value("triggers", nlohmann::json::array())) {
      out +=
          fmt::format("  on {}: fired {} times, last {}, checked {}\n", t["id"].get<std::string>(),
                      t["fires"].get<std::int64_t>(),
                      t["fired_at"].is_string() ? t["fired_at"].get<std::string>() : "never",
                      t["checked_at"].is_string() ? t["checked_at"].get<std::string>() : "never");
    }
  }
  return out.empty() ? "no pipelines\n" : out;
}

}  // namespace enclave::pipeline
