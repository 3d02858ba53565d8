// `enclave data ingest|normalize|filter|dedup|pii|decontaminate|split|format|run`:
// each step's flags come from the data library (data/step_flags.h) and
// become its params; --set KEY=VALUE reaches any setting without a flag.
#include <fmt/format.h>

#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "core/program.h"
#include "data/dataset_store.h"
#include "data/recipe.h"
#include "data/step_flags.h"
#include "data/steps.h"
#include "store/workspace.h"

namespace enclave::cli {
namespace {

struct StepFlags {
  std::string step;
  std::string workspace;
  std::string in;
  std::string out;
  std::vector<std::string> paths;  // ingest
  int threads = 0;
  bool json = false;
  std::vector<std::string> sets;  // --set KEY=VALUE
  // The step's own flags (data/step_flags.h): option and values typed.
  std::vector<std::pair<CLI::Option*, std::vector<std::string>>> options;
};

void print_result(const data::StepResult& r, bool json) {
  if (json) {
    nlohmann::json j = {{"version", r.version.ref()}, {"run_id", r.run_id}, {"report", r.report}};
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << data::format_step_summary(r) << "\n";
  if (r.report.contains("skipped_files")) {
    for (const auto& s : r.report["skipped_files"]) {
      std::cout << fmt::format("  skipped {}: {}\n", s.value("path", std::string()),
                               s.value("reason", std::string()));
    }
  }
}

// One subcommand per step: the common flags here, the step's own from the
// data library, whose step_params turns what was typed into the params.
void add_step(CLI::App& parent, const std::string& step) {
  auto flags = std::make_shared<StepFlags>();
  flags->step = step;
  CLI::App* cmd = parent.add_subcommand(step, std::string(data::step_summary(step)));
  if (step == "ingest") {
    cmd->add_option("paths", flags->paths, "Files and folders to read (recursively)")->required();
  } else {
    cmd->add_option("--in", flags->in, "Input dataset: NAME, NAME@VERSION or NAME:ALIAS")
        ->required();
  }
  cmd->add_option("--out", flags->out, "Dataset name the new version is recorded under")
      ->required();
  const std::vector<data::StepFlag>& step_flags = data::step_flags(step);
  flags->options.reserve(step_flags.size());
  for (const data::StepFlag& f : step_flags) {
    auto& [option, values] = flags->options.emplace_back();
    const std::string name(f.flag);
    const std::string help(f.help);
    if (f.type == data::FlagType::kSwitch) {
      option = cmd->add_flag(name, help);
    } else {
      option = cmd->add_option(name, values, help)->allow_extra_args(false);
      if (f.type == data::FlagType::kNumber || f.type == data::FlagType::kInteger ||
          f.type == data::FlagType::kText) {
        option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
      }
    }
    if (f.required) option->required();
  }
  cmd->add_option("--threads", flags->threads, "Worker threads (default: every core)");
  add_workspace_flag(*cmd, flags->workspace);
  cmd->add_flag("--json", flags->json, "Print the new version and its report as JSON");
  cmd->add_option("--set", flags->sets,
                  "Any step setting as KEY=VALUE (VALUE in JSON, else a string); repeatable");
  cmd->callback([flags] {
    std::map<std::string, std::vector<std::string>> given;
    for (const auto& [option, values] : flags->options) {
      if (option->count() > 0) given[option->get_name()] = values;
    }
    nlohmann::json params = data::step_params(flags->step, given, flags->sets);
    if (flags->step == "ingest") params["paths"] = flags->paths;
    data::StepRequest request{.step = flags->step,
                              .params = params,
                              .input = flags->in,
                              .output = flags->out,
                              .workspace = workspace_flag(flags->workspace),
                              .threads = flags->threads,
                              .show_progress = !flags->json,
                              .command = program_identity().argv};
    print_result(data::run_step(request), flags->json);
  });
}

struct RunFlags {
  std::string recipe;
  std::string workspace;
  int threads = 0;
  bool json = false;
};

}  // namespace

nlohmann::json dataset_report_json(const std::string& workspace, const std::string& ref) {
  store::Workspace ws(workspace_root(workspace));
  auto report = data::read_dataset_report(ws, ref);
  return report ? *report : nlohmann::json();
}

std::string dataset_report_text(const std::string& workspace, const std::string& ref) {
  const nlohmann::json report = dataset_report_json(workspace, ref);
  return report.is_null() ? "" : data::format_dataset_report(report);
}

void register_data(CLI::App& app) {
  CLI::App* data_cmd = app.add_subcommand("data");
  data_cmd->require_subcommand(1);

  for (std::string_view step : data::step_names()) add_step(*data_cmd, std::string(step));

  auto run = std::make_shared<RunFlags>();
  CLI::App* run_cmd =
      data_cmd->add_subcommand("run", "Run a recipe: a chain of steps in a YAML file");
  run_cmd->add_option("recipe", run->recipe, "Recipe file (YAML)")->required();
  run_cmd->add_option("--threads", run->threads,
                      "Worker threads (default: the recipe's, else every core)");
  add_workspace_flag(*run_cmd, run->workspace);
  run_cmd->add_flag("--json", run->json, "Print every version and report as JSON");
  run_cmd->callback([run] {
    const data::Recipe recipe = data::read_recipe(run->recipe);
    auto results = data::run_recipe(recipe, run->recipe,
                                    {.workspace = workspace_flag(run->workspace),
                                     .threads = run->threads,
                                     .show_progress = !run->json,
                                     .command = program_identity().argv});
    if (run->json) {
      nlohmann::json all = nlohmann::json::array();
      for (const auto& r : results)
        all.push_back({{"version", r.version.ref()}, {"run_id", r.run_id}, {"report", r.report}});
      std::cout << all.dump(2) << "\n";
    } else {
      for (const auto& r : results) print_result(r, false);
    }
  });
}

}  // namespace enclave::cli
