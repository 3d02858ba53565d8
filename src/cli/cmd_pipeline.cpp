// `enclave pipeline run | list | show | status | dag | history | approve | watch`.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "monitor/alerts.h"
#include "monitor/feedback_export.h"
#include "pipeline/clock.h"
#include "pipeline/dag.h"
#include "pipeline/runner.h"
#include "pipeline/spec.h"
#include "pipeline/triggers.h"
#include "pipeline/watch.h"
#include "store/workspace.h"

namespace enclave::cli {
namespace {

struct RunFlags {
  std::string workspace;
  std::string file;
  std::vector<std::string> params;
  std::string stage;
  int jobs = 4;
  bool dry_run = false;
  std::vector<std::string> force;
  std::int64_t resume = 0;
  bool json = false;
};

void progress_line(const std::string& line) { fmt::print(stderr, "{}\n", line); }

// Prints a finished (or paused) run and turns its status into the exit code.
void report_run(const pipeline::RunRecord& r, bool json) {
  if (json) {
    std::cout << pipeline::run_json(r).dump(2) << "\n";
  } else {
    std::cout << pipeline::format_run(r);
  }
  if (r.status == "waiting_approval") {
    for (const pipeline::StageRecord& s : r.stages) {
      if (s.status != "waiting_approval") continue;
      fmt::print(stderr,
                 "pipeline run {} waits for approval of stage {}:\n  enclave pipeline approve {} "
                 "--stage {} --reason TEXT   (or --reject)\n",
                 r.id, s.stage, r.id, s.stage);
    }
  }
  if (r.status == "failed" || r.status == "rejected") throw ExitStatus{1};
}

void register_run(CLI::App& parent) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* cmd = parent.add_subcommand(
      "run", "Run a pipeline file's stages in dependency order (unchanged stages are cached)");
  cmd->add_option("file", flags->file, "Pipeline YAML file (optional with --resume)");
  cmd->add_option("--param", flags->params, "KEY=VALUE over the file's params (repeatable)");
  cmd->add_option("--stage", flags->stage, "Run only this stage and the stages it needs");
  cmd->add_option("--jobs,-j", flags->jobs, "Independent stages run at once")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_flag("--dry-run", flags->dry_run, "Show what would run or be cached; record nothing");
  cmd->add_option("--force", flags->force, "Run STAGE even if its cache is valid (repeatable)");
  cmd->add_option("--resume", flags->resume,
                  "Continue pipeline run RUN: finished stages are kept, failed ones run again")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--json", flags->json, "Print the run as JSON");
  add_workspace_flag(*cmd, flags->workspace);
  cmd->callback([flags] {
    if (flags->file.empty() && flags->resume == 0)
      fail_input("pipeline run: give a pipeline FILE (or --resume RUN)");
    pipeline::PipelineRunOptions o;
    o.workspace_root = workspace_root(flags->workspace);
    o.file = flags->file;
    o.params = flags->params;
    o.stage = flags->stage;
    o.jobs = flags->jobs;
    o.force = flags->force;
    if (flags->resume > 0) o.resume = flags->resume;
    o.progress = progress_line;
    if (flags->dry_run) {
      if (flags->file.empty()) fail_input("pipeline run --dry-run: give the pipeline FILE");
      nlohmann::json plan = pipeline::plan_pipeline(o);
      if (flags->json) {
        std::cout << plan.dump(2) << "\n";
        return;
      }
      fmt::print("pipeline {} (dry run)\n", plan["pipeline"].get<std::string>());
      for (const auto& s : plan["stages"]) {
        fmt::print("  {:<20} {:<8} {}\n    {}\n", s["name"].get<std::string>(),
                   s["status"].get<std::string>(), s["reason"].get<std::string>(),
                   s["cmd"].get<std::string>());
      }
      return;
    }
    report_run(pipeline::run_pipeline(o), flags->json);
  });
}

struct QueryFlags {
  std::string workspace;
  std::string name;
  std::int64_t run = 0;
  std::int64_t limit = 50;
  bool dot = false;
  bool json = false;
};

void register_list(CLI::App& parent) {
  auto flags = std::make_shared<QueryFlags>();
  CLI::App* cmd = parent.add_subcommand("list", "Pipeline runs, newest first");
  cmd->add_option("--limit", flags->limit, "At most this many (0: all)")->capture_default_str();
  cmd->add_flag("--json", flags->json, "Print as JSON");
  add_workspace_flag(*cmd, flags->workspace);
  cmd->callback([flags] {
    store::Workspace ws(workspace_root(flags->workspace));
    auto runs = pipeline::list_runs(ws.db(), {.limit = flags->limit});
    std::cout << (flags->json ? pipeline::runs_json(runs).dump(2) + "\n"
                              : pipeline::format_runs(runs));
  });
}

void register_history(CLI::App& parent) {
  auto flags = std::make_shared<QueryFlags>();
  CLI::App* cmd = parent.add_subcommand("history", "The runs of pipeline NAME, newest first");
  cmd->add_option("name", flags->name, "Pipeline name")->required();
  cmd->add_option("--limit", flags->limit, "At most this many (0: all)")->capture_default_str();
  cmd->add_flag("--json", flags->json, "Print as JSON");
  add_workspace_flag(*cmd, flags->workspace);
  cmd->callback([flags] {
    store::Workspace ws(workspace_root(flags->workspace));
    auto runs = pipeline::list_runs(ws.db(), {.pipeline = flags->name, .limit = flags->limit});
    if (runs.empty())
      fail(ErrorKind::kNotFound, "pipeline {}: no runs recorded in this workspace", flags->name);
    std::cout << (flags->json ? pipeline::runs_json(runs).dump(2) + "\n"
                              : pipeline::format_runs(runs));
  });
}

void register_show(CLI::App& parent) {
  auto flags = std::make_shared<QueryFlags>();
  CLI::App* cmd = parent.add_subcommand("show", "One pipeline run: its stages, runs and outputs");
  cmd->add_option("run", flags->run, "Pipeline run id")->required()->check(CLI::PositiveNumber);
  cmd->add_flag("--json", flags->json, "Print as JSON");
  add_workspace_flag(*cmd, flags->workspace);
  cmd->callback([flags] {
    store::Workspace ws(workspace_root(flags->workspace));
    auto run = pipeline::load_run(ws.db(), flags->run);
    std::cout << (flags->json ? pipeline::run_json(run).dump(2) + "\n" : pipeline::format_run(run));
  });
}

void register_dag(CLI::App& parent) {
  auto flags = std::make_shared<QueryFlags>();
  CLI::App* cmd = parent.add_subcommand("dag", "The stage graph of a pipeline file");
  cmd->add_option("file", flags->name, "Pipeline YAML file")->required();
  cmd->add_flag("--dot", flags->dot, "Print Graphviz dot");
  cmd->add_flag("--json", flags->json, "Print as JSON");
  cmd->callback([flags] {
    const pipeline::PipelineSpec spec = pipeline::load_pipeline(flags->name);
    if (flags->dot) {
      std::cout << pipeline::dag_dot(spec);
    } else if (flags->json) {
      std::cout << pipeline::dag_json(spec).dump(2) << "\n";
    } else {
      std::cout << pipeline::format_dag(spec);
    }
  });
}

struct ApproveFlags {
  std::string workspace;
  std::int64_t run = 0;
  std::string stage;
  bool reject = false;
  std::string reason;
  int jobs = 4;
  bool json = false;
};

void register_approve(CLI::App& parent) {
  auto flags = std::make_shared<ApproveFlags>();
  CLI::App* cmd = parent.add_subcommand(
      "approve", "Approve (or --reject) a stage waiting for approval, then continue the run");
  cmd->add_option("run", flags->run, "Pipeline run id")->required()->check(CLI::PositiveNumber);
  cmd->add_option("--stage", flags->stage, "The waiting stage")->required();
  cmd->add_flag("--reject", flags->reject, "Reject: the stage and what needs it do not run");
  cmd->add_option("--reason", flags->reason, "Why (recorded in the audit log)")->required();
  cmd->add_option("--jobs,-j", flags->jobs, "Independent stages run at once")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_flag("--json", flags->json, "Print the run as JSON");
  add_workspace_flag(*cmd, flags->workspace);
  cmd->callback([flags] {
    report_run(pipeline::approve_stage({.workspace_root = workspace_root(flags->workspace),
                                        .run = flags->run,
                                        .stage = flags->stage,
                                        .reject = flags->reject,
                                        .reason = flags->reason,
                                        .jobs = flags->jobs,
                                        .progress = progress_line}),
               flags->json);
  });
}

struct WatchFlags {
  std::string workspace;
  std::string dir = "pipelines";
  bool once = false;
  double interval = 30;
  int jobs = 4;
  std::string name;
  bool json = false;
};

pipeline::TriggerSources trigger_sources(const std::filesystem::path& root) {
  return {.feedback_high_water = [root] { return monitor::feedback_high_water(root); },
          .monitor_alert =
              [root](const std::string& rule_name, const nlohmann::json& spec) {
                monitor::AlertRule rule = monitor::parse_alert_rule(
                    spec, [&](const std::string& field, const std::string& reason) {
                      fail_input("on.monitor{}: {}", field.empty() ? "" : "." + field, reason);
                    });
                rule.name = rule_name;
                // The window ends at the pipeline's clock, as every trigger's does.
                const monitor::AlertResult r =
                    monitor::evaluate_alert(root, rule, pipeline::pipeline_now());
                std::string value = r.value ? fmt::format("{:.4g}", *r.value) : "no data";
                return pipeline::MonitorCheck{
                    .firing = r.firing,
                    .raised = r.event == "raised",
                    .reason = fmt::format("{} = {} over the last {} ({} {}: {})", rule.metric,
                                          value, rule.window, rule.above ? "above" : "below",
                                          rule.threshold, r.firing ? "firing" : "ok")};
              }};
}

void register_status(CLI::App& parent) {
  auto flags = std::make_shared<WatchFlags>();
  CLI::App* cmd = parent.add_subcommand(
      "status", "Each pipeline's last run, its triggers and when they last fired");
  cmd->add_option("name", flags->name, "Only this pipeline");
  cmd->add_option("--dir", flags->dir, "Folder of pipeline files")->capture_default_str();
  cmd->add_flag("--json", flags->json, "Print as JSON");
  add_workspace_flag(*cmd, flags->workspace);
  cmd->callback([flags] {
    const std::filesystem::path root = workspace_root(flags->workspace);
    nlohmann::json status = pipeline::pipeline_status(root, flags->dir, flags->name);
    std::cout << (flags->json ? status.dump(2) + "\n" : pipeline::format_pipeline_status(status));
  });
}

void register_watch(CLI::App& parent) {
  auto flags = std::make_shared<WatchFlags>();
  CLI::App* cmd = parent.add_subcommand(
      "watch", "Check the pipelines' triggers and start runs when they fire (keep it running)");
  cmd->add_option("--dir", flags->dir, "Folder of pipeline files")->capture_default_str();
  cmd->add_flag("--once", flags->once, "Check once, run what fired, and exit");
  cmd->add_option("--interval", flags->interval, "Seconds between checks")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  cmd->add_option("--jobs,-j", flags->jobs, "Independent stages run at once, per pipeline run")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  add_workspace_flag(*cmd, flags->workspace);
  cmd->callback([flags] {
    const std::filesystem::path root = workspace_root(flags->workspace);
    pipeline::watch({.workspace_root = root,
                     .dir = flags->dir,
                     .once = flags->once,
                     .interval_seconds = flags->interval,
                     .jobs = flags->jobs,
                     .sources = trigger_sources(root),
                     .log = [](const std::string& line) {
                       fmt::print("{}\n", line);
                       std::fflush(stdout);
                     }});
  });
}

}  // namespace

void register_pipeline(CLI::App& app) {
  CLI::App* p = app.add_subcommand("pipeline");
  p->require_subcommand(1);
  register_run(*p);
  register_list(*p);
  register_show(*p);
  register_status(*p);
  register_dag(*p);
  register_history(*p);
  register_approve(*p);
  register_watch(*p);
}

}  // namespace enclave::cli
