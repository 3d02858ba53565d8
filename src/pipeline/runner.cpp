// pipeline/runner: a pipeline run's bookkeeping (stage cache keys and hits,
// the dry-run plan, creating, resuming and approving runs) and the public
// entry points; the stages of a run execute in stage_execution.cpp.
#include "pipeline/runner.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/error.h"
#include "core/file.h"
#include "core/hash.h"
#include "core/program.h"
#include "pipeline/clock.h"
#include "pipeline/dag.h"
#include "pipeline/interpolate.h"
#include "pipeline/runner_internal.h"
#include "pipeline/spec.h"
#include "store/audit.h"
#include "store/clock.h"
#include "store/registry.h"
#include "store/runs.h"
#include "store/upsert.h"
#include "store/workspace.h"

namespace enclave::pipeline {
namespace fs = std::filesystem;
namespace {

fs::path self_executable() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : p;
}

std::string program_version() {
  const ProgramIdentity id = program_identity();
  return id.build_id.empty() ? id.version : id.version + "+" + id.build_id;
}

// A folder's digest: its files' relative paths and digests, in order.
std::string path_digest(const fs::path& path) {
  if (fs::is_regular_file(path)) return "sha256:" + sha256_file_hex(path);
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& e : fs::recursive_directory_iterator(path)) {
    if (e.is_regular_file())
      files.emplace_back(fs::relative(e.path(), path).string(), sha256_file_hex(e.path()));
  }
  std::sort(files.begin(), files.end());
  Sha256 h;
  for (const auto& [rel, digest] : files) h.update(rel + '\0' + digest + '\n');
  return "dir:" + h.finish_hex();
}

}  // namespace

namespace detail {

// The producer's exact output where a dep names what an upstream stage made.
std::vector<ResolvedDep> resolve_deps(store::Workspace& ws, const Context& ctx, const Stage& stage,
                                      const Outs& outs) {
  std::vector<ResolvedDep> out;
  for (const Artifact& d : stage.deps) {
    ResolvedDep r{.artifact = d, .ref = d.ref};
    if (d.kind == Artifact::Kind::kFile) {
      const fs::path p = ctx.spec->dir / d.ref;
      std::error_code ec;
      if (!fs::exists(p, ec))
        fail(ErrorKind::kNotFound, "dependency {}: no such file or folder", p.string());
      r.digest = path_digest(p);
    } else {
      for (const std::string& up : stage.after) {
        auto it = outs.find(up);
        if (it != outs.end() && it->second.contains(d.ref)) r.ref = it->second.at(d.ref);
      }
      store::VersionInfo v = store::resolve_version(ws.db(), registry_kind(d.kind), r.ref);
      r.ref = v.ref();
      r.digest = v.artifact;
      r.version_id = v.id;
    }
    out.push_back(r);
  }
  return out;
}

bool outputs_exist(store::Workspace& ws, const Context& ctx, const Stage& stage,
                   const nlohmann::json& outs, std::string& missing) {
  for (const Artifact& o : stage.outs) {
    if (!outs.contains(o.out_name()) || !outs[o.out_name()].is_string()) {
      missing = o.text();
      return false;
    }
    const std::string value = outs[o.out_name()].get<std::string>();
    if (o.kind == Artifact::Kind::kFile) {
      std::error_code ec;
      if (!fs::exists(ctx.spec->dir / o.ref, ec)) {
        missing = o.text();
        return false;
      }
    } else {
      try {
        store::resolve_version(ws.db(), registry_kind(o.kind), value);
      } catch (const Error&) {
        missing = value;
        return false;
      }
    }
  }
  return true;
}

// Why a cache entry made from `was` does not fit `now`.
std::string changed_part(const nlohmann::json& was, const nlohmann::json& now) {
  if (was.value("definition", nlohmann::json()) != now["definition"]) return "definition changed";
  if (was.value("params", nlohmann::json()) != now["params"]) {
    for (const auto& [k, v] : now["params"].items()) {
      if (!was["params"].contains(k) || was["params"][k] != v) return "params changed: " + k;
    }
    return "params changed";
  }
  for (const auto& [k, v] : now["deps"].items()) {
    if (!was["deps"].contains(k) || was["deps"][k] != v) return "input changed: " + k;
  }
  if (was.value("cmd", "") != now["cmd"]) return "command changed";
  return "inputs changed";
}

CacheDecision check_cache(store::Workspace& ws, const Context& ctx, const Stage& stage,
                          const std::string& cmd, const std::vector<ResolvedDep>& deps) {
  CacheDecision c;
  nlohmann::json dep_digests = nlohmann::json::object();
  for (const ResolvedDep& d : deps) dep_digests[d.artifact.text()] = d.digest;
  nlohmann::json outs = nlohmann::json::array();
  for (const Artifact& o : stage.outs) outs.push_back(o.text());
  c.inputs = {{"definition", stage.definition},
              {"cmd", cmd},
              {"params", stage.params_used},
              {"deps", dep_digests},
              {"outs", outs}};
  c.key = sha256_hex(c.inputs.dump());
  if (!stage.cache) {
    c.reason = "cache: false";
    return c;
  }
  if (ctx.forced.contains(stage.name)) {
    c.reason = "--force";
    return c;
  }
  store::Statement q(ws.db(),
                     "SELECT key, program_version, inputs, outs, store_run, created_at FROM "
                     "pipeline_cache WHERE pipeline = ?1 AND stage = ?2");
  q.bind(1, ctx.spec->name).bind(2, stage.name);
  if (!q.step()) {
    c.reason = "not run before";
    return c;
  }
  const std::string version = q.text(1);
  if (version != program_version()) {
    c.reason = fmt::format("enclave version changed ({} -> {})", version, program_version());
    return c;
  }
  if (q.text(0) != c.key) {
    c.reason = changed_part(nlohmann::json::parse(q.text(2), nullptr, false), c.inputs);
    return c;
  }
  const double age = pipeline_now() - q.real(5);
  if (stage.cache_max_age_seconds && age > *stage.cache_max_age_seconds) {
    c.reason = fmt::format("cache expired (made {} ago, max_age {})", store::format_elapsed(age),
                           store::format_elapsed(*stage.cache_max_age_seconds));
    return c;
  }
  c.outs = nlohmann::json::parse(q.text(3), nullptr, false);
  std::string missing;
  if (!outputs_exist(ws, ctx, stage, c.outs, missing)) {
    c.reason = "output " + missing + " is missing";
    return c;
  }
  c.store_run = q.optional_int64(4);
  c.hit = true;
  c.reason = c.store_run ? fmt::format("unchanged since run {}", *c.store_run) : "unchanged";
  return c;
}

void put_cache(store::Workspace& ws, const Context& ctx, const Stage& stage, const CacheDecision& c,
               const nlohmann::json& outs, std::int64_t store_run) {
  store::WriteTransaction tx(ws.db());
  store::update_or_insert(
      ws.db(),
      "UPDATE pipeline_cache SET key = ?3, program_version = ?4, inputs = ?5, outs = ?6, "
      "store_run = ?7, created_at = ?8 WHERE pipeline = ?1 AND stage = ?2",
      "INSERT INTO pipeline_cache (pipeline, stage, key, program_version, inputs, outs, "
      "store_run, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
      [&](store::Statement& u) {
        u.bind(1, ctx.spec->name).bind(2, stage.name).bind(3, c.key).bind(4, program_version());
        u.bind(5, c.inputs.dump()).bind(6, outs.dump()).bind(7, store_run).bind(8, pipeline_now());
      });
  tx.commit();
}

}  // namespace detail

namespace {

std::vector<std::string> run_stages(const PipelineSpec& spec, const std::string& target) {
  std::vector<std::string> names;
  if (target.empty()) {
    for (const Stage& s : spec.stages) names.push_back(s.name);
  } else {
    for (const std::string& s : stages_needed(spec, target)) names.push_back(s);
  }
  return names;
}

void check_forced(const PipelineSpec& spec, const std::vector<std::string>& force) {
  for (const std::string& f : force) {
    if (spec.find(f) == nullptr) stages_needed(spec, f);  // throws naming the stages there are
  }
}

}  // namespace

using detail::CacheDecision;
using detail::check_cache;
using detail::Context;
using detail::drive;
using detail::Outs;
using detail::resolve_deps;

std::int64_t create_pipeline_run(store::Db& db, const fs::path& file, const std::string& trigger,
                                 double now) {
  const PipelineSpec spec = load_pipeline(file);
  return insert_run(db,
                    {.pipeline = spec.name,
                     .file = spec.file.string(),
                     .trigger = trigger,
                     .stages = run_stages(spec, "")},
                    now);
}

nlohmann::json plan_pipeline(const PipelineRunOptions& options) {
  const PipelineSpec spec = load_pipeline(options.file, options.params);
  check_forced(spec, options.force);
  Context ctx{.spec = &spec, .root = options.workspace_root};
  ctx.forced.insert(options.force.begin(), options.force.end());
  store::Workspace ws(options.workspace_root);
  const std::vector<std::string> names = run_stages(spec, options.stage);
  const std::set<std::string> selected(names.begin(), names.end());
  nlohmann::json stages = nlohmann::json::array();
  // Outputs are known only for stages that would be cached: the others'
  // descendants will run.
  Outs outs;
  std::set<std::string> will_run;
  for (const std::string& name : topological_order(spec)) {
    if (!selected.contains(name)) continue;
    const Stage& stage = *spec.find(name);
    nlohmann::json j = {{"name", name}, {"cmd", stage.cmd}};
    bool upstream_runs = std::any_of(stage.after.begin(), stage.after.end(),
                                     [&](const std::string& a) { return will_run.contains(a); });
    if (upstream_runs) {
      j["status"] = "pending";
      j["reason"] = "an upstream stage runs";
    } else {
      try {
        const std::string cmd = resolve_stage_refs(stage.cmd, outs);
        j["cmd"] = cmd;
        CacheDecision c = check_cache(ws, ctx, stage, cmd, resolve_deps(ws, ctx, stage, outs));
        j["status"] = c.hit ? "cached" : "pending";
        j["reason"] = c.reason;
        if (c.hit) {
          for (const auto& [k, v] : c.outs.items()) {
            if (v.is_string()) outs[name][k] = v.get<std::string>();
          }
        }
      } catch (const Error& e) {
        j["status"] = "pending";
        j["reason"] = std::string("cannot check the cache: ") + e.what();
      }
    }
    if (j["status"] == "pending") will_run.insert(name);
    if (stage.approval_required) j["approval"] = "required";
    stages.push_back(j);
  }
  return {{"pipeline", spec.name}, {"dry_run", true}, {"stages", stages}};
}

RunRecord run_pipeline(const PipelineRunOptions& options) {
  LocalExecutor local;
  store::Workspace ws(options.workspace_root);
  std::int64_t run_id = 0;
  fs::path file = options.file;
  std::vector<std::string> params = options.params;
  std::string target = options.stage;
  std::vector<std::string> force = options.force;
  if (options.resume) {
    RunRecord r = load_run(ws.db(), *options.resume);
    if (file.empty()) file = r.file;
    if (params.empty()) params = r.params;
    if (target.empty()) target = r.target;
    if (r.status == "succeeded")
      fail_input("pipeline run {} already succeeded; nothing to resume", r.id);
    run_id = r.id;
  }
  const PipelineSpec spec = load_pipeline(file, params);
  check_forced(spec, force);
  const std::vector<std::string> names = run_stages(spec, target);
  if (options.resume) {
    RunRecord r = load_run(ws.db(), run_id);
    if (r.pipeline != spec.name)
      fail_input("pipeline run {} is of pipeline {}, not {} ({})", r.id, r.pipeline, spec.name,
                 spec.file.string());
    claim_run(ws.db(), run_id, pipeline_now());
    store::WriteTransaction tx(ws.db());
    std::set<std::string> have;
    for (StageRecord& s : r.stages) {
      have.insert(s.stage);
      if (spec.find(s.stage) == nullptr)
        fail_input("pipeline run {}: stage {} is no longer in {}", r.id, s.stage,
                   spec.file.string());
      // Finished stages stay finished; the rest run again.
      if (s.status == "failed" || s.status == "skipped" || s.status == "running" ||
          (s.status == "waiting_approval" && s.approved)) {
        s.status = "pending";
        s.message = "";
        save_stage(ws.db(), run_id, s);
      }
    }
    for (const std::string& n : names) {
      if (!have.contains(n)) save_stage(ws.db(), run_id, StageRecord{.stage = n});
    }
    tx.commit();
  } else {
    store::WriteTransaction tx(ws.db());
    run_id = insert_run(ws.db(),
                        {.pipeline = spec.name,
                         .file = spec.file.string(),
                         .params = params,
                         .target = target,
                         .forced = force,
                         .trigger = options.trigger,
                         .stages = names},
                        pipeline_now());
    tx.commit();
  }
  Context ctx{.spec = &spec,
              .root = options.workspace_root,
              .run_id = run_id,
              .executor = options.executor != nullptr ? options.executor : &local,
              .progress = options.progress,
              .exe = self_executable()};
  ctx.forced.insert(force.begin(), force.end());
  ctx.say(fmt::format("run {}{}", run_id, options.resume ? " (resumed)" : ""));
  return drive(ctx, options.jobs);
}

RunRecord approve_stage(const ApproveOptions& options) {
  if (options.reason.empty())
    fail_input("pipeline approve: --reason is required (it goes into the audit log)");
  {
    store::Workspace ws(options.workspace_root);
    RunRecord r = load_run(ws.db(), options.run);
    auto it = std::find_if(r.stages.begin(), r.stages.end(),
                           [&](const StageRecord& s) { return s.stage == options.stage; });
    if (it == r.stages.end())
      fail(ErrorKind::kNotFound, "pipeline run {} has no stage '{}'", r.id, options.stage);
    if (it->status != "waiting_approval")
      fail_input("pipeline run {}: stage {} is {}, not waiting_approval", r.id, options.stage,
                 it->status);
    store::WriteTransaction tx(ws.db());
    if (options.reject) {
      it->status = "rejected";
      it->message = "rejected: " + options.reason;
      it->ended_at = pipeline_now();
    } else {
      it->approved = true;
      it->message = "approved: " + options.reason;
    }
    save_stage(ws.db(), r.id, *it);
    store::append_audit(ws.db(), options.reject ? "pipeline-reject" : "pipeline-approve",
                        fmt::format("pipeline {} run {} stage {}", r.pipeline, r.id, options.stage),
                        {{"pipeline", r.pipeline},
                         {"run", r.id},
                         {"stage", options.stage},
                         {"decision", options.reject ? "rejected" : "approved"},
                         {"reason", options.reason}});
    tx.commit();
  }
  PipelineRunOptions run;
  run.workspace_root = options.workspace_root;
  run.resume = options.run;
  run.jobs = options.jobs;
  run.progress = options.progress;
  return run_pipeline(run);
}

}  // namespace enclave::pipeline