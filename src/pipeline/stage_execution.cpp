// pipeline/stage_execution: executing one pipeline run: each stage run to
// its end as a store run (or taken from the cache), and the scheduler that
// starts stages in dependency order, up to `jobs` at once.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/error.h"
#include "core/file.h"
#include "core/hash.h"
#include "core/program.h"
#include "pipeline/clock.h"
#include "pipeline/dag.h"
#include "pipeline/interpolate.h"
#include "pipeline/runner_internal.h"
#include "pipeline/spec.h"
#include "store/clock.h"
#include "store/registry.h"
#include "store/runs.h"
#include "store/workspace.h"

namespace enclave::pipeline::detail {
namespace fs = std::filesystem;
namespace {

std::int64_t max_version_id(store::Db& db, const Artifact& o) {
  store::Statement q(db,
                     "SELECT COALESCE(MAX(id), 0) FROM registry_versions WHERE kind = ?1 AND "
                     "name = ?2");
  q.bind(1, std::string(store::to_string(registry_kind(o.kind)))).bind(2, o.ref);
  q.step();
  return q.int64(0);
}

std::string log_tail(const fs::path& path, std::size_t max_lines) {
  std::string text;
  try {
    text = read_file(path, 64u << 20);
  } catch (const Error&) {
    return "";
  }
  while (!text.empty() && text.back() == '\n') text.pop_back();
  std::size_t start = text.size();
  for (std::size_t n = 0; n < max_lines && start > 0; ++n) {
    const std::size_t nl = text.rfind('\n', start - 1);
    start = nl == std::string::npos ? 0 : nl;
  }
  return text.substr(start == 0 ? 0 : start + 1);
}

// Runs one stage to its end; the returned record is final (succeeded,
// cached or failed).
StageRecord execute_stage(const Context& ctx, const Stage& stage, const Outs& outs) {
  StageRecord rec{.stage = stage.name, .status = "running"};
  rec.started_at = pipeline_now();
  store::Workspace ws(ctx.root);
  auto fail_stage = [&](const std::string& message) {
    rec.status = "failed";
    rec.message = message;
    rec.ended_at = pipeline_now();
    ctx.say(fmt::format("{}: failed: {}", stage.name, message));
    return rec;
  };
  std::vector<ResolvedDep> deps;
  std::vector<std::string> argv;
  try {
    rec.cmd = resolve_stage_refs(stage.cmd, outs);
    argv = split_command(rec.cmd);
    deps = resolve_deps(ws, ctx, stage, outs);
  } catch (const Error& e) {
    return fail_stage(e.what());
  }
  CacheDecision cache = check_cache(ws, ctx, stage, rec.cmd, deps);
  if (cache.hit) {
    rec.status = "cached";
    rec.outs = cache.outs;
    rec.store_run = cache.store_run;
    rec.message = cache.reason;
    rec.ended_at = pipeline_now();
    ctx.say(fmt::format("{}: cached ({})", stage.name, cache.reason));
    return rec;
  }
  if (argv.front() == "enclave" && !ctx.exe.empty()) argv.front() = ctx.exe.string();

  store::RunOptions run_options;
  run_options.kind = "pipeline-stage";
  run_options.name = ctx.spec->name + "." + stage.name;
  run_options.command = argv;
  run_options.params = {{"pipeline", ctx.spec->name},
                        {"pipeline_run", ctx.run_id},
                        {"stage", stage.name},
                        {"cmd", rec.cmd},
                        {"params", stage.params_used}};
  store::Run run(ctx.root, run_options);
  rec.store_run = run.id();
  {
    store::WriteTransaction tx(ws.db());
    save_stage(ws.db(), ctx.run_id, rec);
    tx.commit();
  }
  ctx.say(fmt::format("{}: running (run {}, {}; log {}): {}", stage.name, run.id(), cache.reason,
                      run.log_path().string(), rec.cmd));
  for (const ResolvedDep& d : deps) {
    if (d.version_id) {
      run.log_input_version(*d.version_id, "dependency");
    } else {
      run.log_input(ctx.spec->dir / d.ref, "dependency");
    }
  }
  std::map<std::string, std::int64_t> before;
  for (const Artifact& o : stage.outs) {
    if (o.kind != Artifact::Kind::kFile) before[o.text()] = max_version_id(ws.db(), o);
  }
  StageJob job;
  job.stage = stage.name;
  job.argv = argv;
  job.cwd = ctx.spec->dir;
  // An encrypted workspace keeps run logs sealed (store/sealed_log.h): the
  // command writes to a file in the private plaintext cache instead, sealed
  // into the run's log when it ends.
  const bool seal_log = ws.encrypted();
  job.log_path =
      seal_log ? ws.checkout_root() / fmt::format("stage-run-{}.log", run.id()) : run.log_path();
  const char* path_env = std::getenv("PATH");
  job.env = {"ENCLAVE_HOME=" + ctx.root.string(), "ENCLAVE_RUN_ID=" + std::to_string(run.id()),
             "ENCLAVE_PIPELINE=" + ctx.spec->name,
             "ENCLAVE_PIPELINE_RUN=" + std::to_string(ctx.run_id),
             "ENCLAVE_PIPELINE_STAGE=" + stage.name};
  // `enclave` inside `sh -c '...'` is this build too, not whatever PATH finds first.
  if (!ctx.exe.empty()) {
    job.env.push_back("PATH=" + ctx.exe.parent_path().string() +
                      (path_env != nullptr ? ":" + std::string(path_env) : ""));
  }
  fs::create_directories(job.log_path.parent_path());
  const StageOutcome outcome = ctx.executor->run(job);
  std::error_code log_ec;
  if (seal_log && fs::exists(job.log_path, log_ec)) run.log_text(read_file(job.log_path));
  if (outcome.exit_code != 0 || !outcome.started) {
    std::string tail = log_tail(job.log_path, 15);
    if (!tail.empty())
      ctx.say(fmt::format("{}: end of its log {}:\n{}", stage.name, job.log_path.string(), tail));
    run.finish(outcome.exit_code > 128 && outcome.started ? store::RunStatus::kKilled
                                                          : store::RunStatus::kFailed,
               outcome.message);
    return fail_stage(outcome.message);
  }
  nlohmann::json produced = nlohmann::json::object();
  for (const Artifact& o : stage.outs) {
    if (o.kind == Artifact::Kind::kFile) {
      const fs::path p = ctx.spec->dir / o.ref;
      std::error_code ec;
      if (!fs::exists(p, ec)) {
        std::string m = fmt::format("the command finished but did not create output {}", o.ref);
        run.finish(store::RunStatus::kFailed, m);
        return fail_stage(m);
      }
      run.log_output(p, "output");
      produced[o.out_name()] = o.ref;
      continue;
    }
    store::Statement q(ws.db(),
                       "SELECT id, version FROM registry_versions WHERE kind = ?1 AND name = ?2 "
                       "AND id > ?3 AND deleted_at IS NULL ORDER BY id DESC LIMIT 1");
    q.bind(1, std::string(store::to_string(registry_kind(o.kind)))).bind(2, o.ref);
    q.bind(3, before[o.text()]);
    if (!q.step()) {
      std::string m =
          fmt::format("the command finished but registered no new version of {}", o.text());
      run.finish(store::RunStatus::kFailed, m);
      return fail_stage(m);
    }
    run.log_output_version(q.int64(0), "output");
    produced[o.out_name()] = o.ref + "@" + std::to_string(q.int64(1));
  }
  run.finish(store::RunStatus::kFinished);
  rec.status = "succeeded";
  rec.outs = produced;
  rec.message = "";
  rec.ended_at = pipeline_now();
  if (stage.cache) put_cache(ws, ctx, stage, cache, produced, run.id());
  ctx.say(fmt::format("{}: succeeded in {}", stage.name,
                      store::format_elapsed(*rec.ended_at - *rec.started_at)));
  return rec;
}

bool done_ok(const std::string& status) { return status == "succeeded" || status == "cached"; }
bool done_bad(const std::string& status) {
  return status == "failed" || status == "skipped" || status == "rejected";
}

std::string overall_status(const std::map<std::string, StageRecord>& stages) {
  bool failed = false, rejected = false, waiting = false, pending = false;
  for (const auto& [name, s] : stages) {
    failed |= s.status == "failed";
    rejected |= s.status == "rejected";
    waiting |= s.status == "waiting_approval";
    pending |= s.status == "pending" || s.status == "running";
  }
  if (failed) return "failed";
  if (rejected) return "rejected";
  if (waiting || pending) return "waiting_approval";
  return "succeeded";
}

}  // namespace

// The scheduler: the run's stage rows are loaded, stages whose needs are
// met start (up to jobs at once), and every change is written as it happens.
RunRecord drive(const Context& ctx, int jobs) {
  store::Workspace ws(ctx.root);
  RunRecord loaded = load_run(ws.db(), ctx.run_id);
  std::map<std::string, StageRecord> stages;
  for (StageRecord& s : loaded.stages) stages[s.stage] = s;
  Outs outs;
  for (const auto& [name, s] : stages) {
    if (done_ok(s.status)) {
      for (const auto& [k, v] : s.outs.items()) {
        if (v.is_string()) outs[name][k] = v.get<std::string>();
      }
    }
  }
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<StageRecord> finished;
  std::vector<std::thread> threads;
  int running = 0;
  auto save = [&](const StageRecord& s) {
    store::WriteTransaction tx(ws.db());
    save_stage(ws.db(), ctx.run_id, s);
    tx.commit();
  };
  const std::vector<std::string> order = topological_order(*ctx.spec);
  while (true) {
    bool changed = true;
    while (changed) {
      changed = false;
      for (const std::string& name : order) {
        auto it = stages.find(name);
        if (it == stages.end() || it->second.status != "pending") continue;
        const Stage& stage = *ctx.spec->find(name);
        std::string blocked_by;
        bool ready = true;
        for (const std::string& a : stage.after) {
          auto up = stages.find(a);
          const std::string st = up == stages.end() ? "succeeded" : up->second.status;
          if (done_bad(st)) blocked_by = a + " " + st;
          if (!done_ok(st)) ready = false;
        }
        if (!blocked_by.empty()) {
          it->second.status = "skipped";
          it->second.message = "stage " + blocked_by;
          save(it->second);
          ctx.say(fmt::format("{}: skipped (stage {})", name, blocked_by));
          changed = true;
          continue;
        }
        if (!ready) continue;
        if (stage.approval_required && !it->second.approved) {
          it->second.status = "waiting_approval";
          save(it->second);
          ctx.say(fmt::format("{}: waiting for approval", name));
          continue;
        }
        if (running >= std::max(1, jobs)) continue;
        it->second.status = "running";
        it->second.started_at = pipeline_now();
        save(it->second);
        ++running;
        Outs snapshot = outs;
        threads.emplace_back([&, name, snapshot, stage_ptr = &stage] {
          StageRecord rec;
          try {
            rec = execute_stage(ctx, *stage_ptr, snapshot);
          } catch (const std::exception& e) {
            rec.stage = name;
            rec.status = "failed";
            rec.message = e.what();
            rec.ended_at = pipeline_now();
            ctx.say(fmt::format("{}: failed: {}", name, e.what()));
          }
          std::lock_guard lock(mutex);
          finished.push_back(std::move(rec));
          cv.notify_all();
        });
        changed = true;
      }
    }
    if (running == 0) break;
    std::vector<StageRecord> done;
    {
      std::unique_lock lock(mutex);
      cv.wait(lock, [&] { return !finished.empty(); });
      done.swap(finished);
    }
    for (StageRecord& rec : done) {
      --running;
      StageRecord& s = stages[rec.stage];
      rec.approved = s.approved;
      s = rec;
      if (done_ok(s.status)) {
        for (const auto& [k, v] : s.outs.items()) {
          if (v.is_string()) outs[s.stage][k] = v.get<std::string>();
        }
      }
      save(s);
    }
  }
  for (std::thread& t : threads) t.join();
  const std::string status = overall_status(stages);
  std::string message;
  for (const std::string& name : order) {
    auto it = stages.find(name);
    if (it == stages.end()) continue;
    if (it->second.status == "failed" && message.empty())
      message = "stage " + name + " failed: " + it->second.message;
    if (it->second.status == "rejected" && message.empty())
      message = "stage " + name + " rejected: " + it->second.message;
  }
  {
    store::WriteTransaction tx(ws.db());
    finish_run(ws.db(), ctx.run_id, status, message, pipeline_now());
    tx.commit();
  }
  return load_run(ws.db(), ctx.run_id);
}

}  // namespace enclave::pipeline::detail
