// `enclave runs list | show | compare | exec | log`.
#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "core/file.h"
#include "store/names.h"
#include "store/run_exec.h"
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

// "KEY=VALUE" -> (key, value); `flag` names the option in errors.
std::pair<std::string, std::string> split_assignment(const std::string& item,
                                                     std::string_view flag) {
  std::size_t eq = item.find('=');
  if (eq == std::string::npos || eq == 0) {
    fail_input("{} '{}': expected KEY=VALUE", flag, store::printable(item));
  }
  return {item.substr(0, eq), item.substr(eq + 1)};
}

// --param KEY=VALUE: VALUE is JSON when it parses as JSON (3e-4, true,
// [1,2]), else a string, so `--param optim=adamw` needs no quotes.
nlohmann::json parse_params(const std::vector<std::string>& items) {
  nlohmann::json params = nlohmann::json::object();
  for (const std::string& item : items) {
    auto [key, text] = split_assignment(item, "--param");
    store::validate_tag_value(key, "--param key");
    nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    params[key] = value.is_discarded() ? nlohmann::json(text) : value;
  }
  return params;
}

double parse_metric_value(const std::string& key, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE) {
    fail_input("--metric {}: '{}' is not a number", store::printable(key), store::printable(text));
  }
  return value;
}

std::string run_log_text(const std::filesystem::path& dot_dir, const nlohmann::json& run) {
  std::string rel = run["log_path"].get<std::string>();
  if (rel.empty()) return "";
  store::validate_relative_path(rel, "run log path");
  std::filesystem::path path = dot_dir / rel;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return "";
  return read_file(path, std::uint64_t{64} << 20);
}

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
    std::string log = flags->log ? run_log_text(workspace.dot_dir(), run) : "";
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
    options.run.params = parse_params(flags->params);
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
    if (result.exit_code != 0) {
      std::cout.flush();
      std::exit(result.exit_code);
    }
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
    std::string run_text = flags->run;
    if (run_text.empty()) {
      const char* env = std::getenv("ENCLAVE_RUN_ID");
      if (env == nullptr || *env == '\0') {
        fail_input(
            "runs log: no run given: pass --run ID, or call it from a program started by "
            "`enclave runs exec` (which sets $ENCLAVE_RUN_ID)");
      }
      run_text = env;
    }
    std::int64_t id = store::parse_run_id(run_text);
    if (flags->metrics.empty() && flags->params.empty())
      fail_input("runs log: give --metric KEY=VALUE or --param KEY=VALUE");
    store::RunUpdate update;
    for (const std::string& item : flags->metrics) {
      auto [key, text] = split_assignment(item, "--metric");
      update.metrics.push_back({key, parse_metric_value(key, text), flags->step});
    }
    update.params = parse_params(flags->params);
    store::Workspace workspace(workspace_root(flags->workspace));
    std::vector<store::MetricPoint> points = store::log_to_run(workspace.db(), id, update);
    if (flags->json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& p : points)
        out.push_back({{"key", p.key}, {"step", p.step}, {"value", p.value}});
      std::cout << nlohmann::json({{"run", id}, {"points", out}, {"params", update.params}}).dump(2)
                << "\n";
    }
  });
}

}  // namespace

void register_runs(CLI::App& app) {
  CLI::App* runs =
      app.add_subcommand("runs", "Recorded runs: what ran, with which params, inputs and results");
  runs->require_subcommand(1);
  register_list(*runs);
  register_show(*runs);
  register_compare(*runs);
  register_exec(*runs);
  register_log(*runs);
}

}  // namespace enclave::cli
