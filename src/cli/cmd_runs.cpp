// `enclave runs list | show | compare | exec | log`.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "store/run_exec.h"
#include "store/run_log.h"
#include "store/run_query.h"
#include "store/runs.h"

namespace enclave::cli {
namespace {

struct ListFlags {
  std::string workspace;
  std::string kind;
  std::string status;
  std::int64_t limit = 50;
  bool json = false;
};

struct ShowFlags {
  std::string workspace;
  std::string id;
  bool series = false;
  bool log = false;
  bool json = false;
};

struct CompareFlags {
  std::string workspace;
  std::vector<std::string> ids;
  bool json = false;
};

struct ExecFlags {
  std::string workspace;
  std::string kind = "exec";
  std::string name;
  std::vector<std::string> params;
  std::optional<std::int64_t> seed;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::vector<std::string> input_models;
  std::vector<std::string> input_datasets;
  std::vector<std::string> command;
};

struct LogFlags {
  std::string workspace;
  std::string run;
  std::vector<std::string> metrics;
  std::vector<std::string> params;
  std::optional<std::int64_t> step;
  bool json = false;
};

void register_list(CLI::App& runs) {
  auto flags = std::make_shared<ListFlags>();
  CLI::App* cmd =
      runs.add_subcommand("list", "List runs, newest first, with their last metric values");
  add_workspace_flag(*cmd, flags->workspace);
  cmd->add_option("--kind", flags->kind, "Only runs of this kind (train, data, eval, exec, ...)");
  cmd->add_option("--status", flags->status, "Only runs with this status")
      ->check(CLI::IsMember({"running", "finished", "failed", "killed"}));
  cmd->add_option("--limit", flags->limit, "At most this many runs (0: all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--json", flags->json, "Print as JSON");
  cmd->callback([flags] {
    store::Workspace workspace(workspace_root(flags->workspace));
    nlohmann::json runs_json = store::list_runs(
        workspace.db(), {.kind = flags->kind, .status = flags->status, .limit = flags->limit});
    if (flags->json) {
      std::cout << runs_json.dump(2) << "\n";
    } else {
      std::cout << store::format_runs_list(runs_json);
    }
  });
}

void register_show(CLI::App& runs) {
  auto flags = std::make_shared<ShowFlags>();
  CLI::App* cmd = runs.add_subcommand(
      "show", "Everything about one run: command, params, inputs, outputs, metrics");
  cmd->add_option("id", flags->id, "Run id (12 or run:12)")->required();
  add_workspace_flag(*cmd, flags->workspace);
  cmd->add_flag("--series", flags->series, "Include every metric point (JSON)");
  cmd->add_flag("--log", flags->log, "Include the run's log");
  cmd->add_flag("--json", flags->json, "Print as JSON");
  cmd->callback([flags] {
    std::int64_t id = store::parse_run_id(flags->id);
    store::Workspace workspace(workspace_root(flags->workspace));
    nlohmann::json run = store::show_run(workspace.db(), id, flags->series);
    std::string log = flags->log ? store::read_run_log(workspace, run) : "";
    if (flags->json) {
      if (flags->log) run["log"] = log;
      std::cout << run.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      return;
    }
    std::cout << store::format_run(run);
    if (flags->log) std::cout << "log\n" << (log.empty() ? "  (empty)\n" : log);
  });
}

void register_compare(CLI::App& runs) {
  auto flags = std::make_shared<CompareFlags>();
  CLI::App* cmd = runs.add_subcommand(
      "compare", "Params and final metrics of runs side by side; rows that differ are marked *");
  cmd->add_option("ids", flags->ids, "Two or more run ids")->required()->expected(2, -1);
  add_workspace_flag(*cmd, flags->workspace);
  cmd->add_flag("--json", flags->json, "Print as JSON");
  cmd->callback([flags] {
    std::vector<std::int64_t> ids;
    for (const std::string& id : flags->ids) ids.push_back(store::parse_run_id(id));
    store::Workspace workspace(workspace_root(flags->workspace));
    nlohmann::json comparison = store::compare_runs(workspace.db(), ids);
    if (flags->json) {
      std::cout << comparison.dump(2) << "\n";
    } else {
      std::cout << store::format_compare(comparison);
    }
  });
}

void register_exec(CLI::App& runs) {
  auto flags = std::make_shared<ExecFlags>();
  CLI::App* cmd = runs.add_subcommand(
      "exec", "Run a program as a recorded run: enclave runs exec [options] -- CMD ARGS...");
  add_workspace_flag(*cmd, flags->workspace);
  cmd->add_option("--kind", flags->kind, "Run kind shown in lists")->capture_default_str();
  cmd->add_option("--name", flags->name, "Run name shown in lists");
  cmd->add_option("--param", flags->params, "Param KEY=VALUE (repeatable; VALUE is JSON or text)")
      ->allow_extra_args(false);
  cmd->add_option("--seed", flags->seed, "Random seed to record");
  cmd->add_option("--input", flags->inputs, "File or folder the program reads (stored; repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--input-model", flags->input_models,
                  "Registered model it reads: name, name@3, name:alias")
      ->allow_extra_args(false);
  cmd->add_option("--input-dataset", flags->input_datasets, "Registered dataset it reads")
      ->allow_extra_args(false);
  cmd->add_option("--output", flags->outputs,
                  "File or folder it writes (stored on success; repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("command", flags->command, "The program and its arguments, after --")->required();
  cmd->callback([flags] {
    store::ExecOptions options;
    options.workspace_root = workspace_root(flags->workspace);
    options.run.kind = flags->kind;
    options.run.name = flags->name;
    options.run.params = store::parse_param_assignments(flags->params);
    options.run.seed = flags->seed;
    options.argv = flags->command;
    options.inputs.assign(flags->inputs.begin(), flags->inputs.end());
    options.outputs.assign(flags->outputs.begin(), flags->outputs.end());
    options.input_models = flags->input_models;
    options.input_datasets = flags->input_datasets;
    options.on_started = [](std::int64_t id) {
      fmt::print(stderr, "enclave: run {} started\n", id);
    };
    store::ExecResult result = store::exec_run(options);
    fmt::print(stderr, "enclave: run {} {}{}\n", result.run_id, store::to_string(result.status),
               result.exit_code == 0 ? "" : fmt::format(" (exit code {})", result.exit_code));
    // The program's exit code is ours, as with `time` or `nice`.
    if (result.exit_code != 0) throw ExitStatus{result.exit_code};
  });
}

void register_log(CLI::App& runs) {
  auto flags = std::make_shared<LogFlags>();
  CLI::App* cmd = runs.add_subcommand(
      "log",
      "Add metric points or params to a running run (default: $ENCLAVE_RUN_ID, set by runs exec)");
  add_workspace_flag(*cmd, flags->workspace);
  cmd->add_option("--run", flags->run, "Run id (default: $ENCLAVE_RUN_ID)");
  cmd->add_option("--metric", flags->metrics, "Metric point KEY=VALUE (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--step", flags->step,
                  "Step of the points (default: one past each key's last step)");
  cmd->add_option("--param", flags->params, "Param KEY=VALUE (repeatable; VALUE is JSON or text)")
      ->allow_extra_args(false);
  cmd->add_flag("--json", flags->json, "Print the points written as JSON");
  cmd->callback([flags] {
    const store::RunLogResult logged = store::log_run_assignments(
        {.workspace = workspace_flag(flags->workspace)}, {.run = flags->run,
                                                          .metrics = flags->metrics,
                                                          .params = flags->params,
                                                          .step = flags->step});
    if (flags->json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& p : logged.points)
        out.push_back({{"key", p.key}, {"step", p.step}, {"value", p.value}});
      std::cout << nlohmann::json(
                       {{"run", logged.run_id}, {"points", out}, {"params", logged.params}})
                       .dump(2)
                << "\n";
    }
  });
}

}  // namespace

void register_runs(CLI::App& app) {
  CLI::App* runs = app.add_subcommand("runs");
  runs->require_subcommand(1);
  register_list(*runs);
  register_show(*runs);
  register_compare(*runs);
  register_exec(*runs);
  register_log(*runs);
}

}  // namespace enclave::cli
