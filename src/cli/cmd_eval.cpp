// `enclave eval run | compare | gate | tasks`: evaluation suites over any
// model reference (src/eval). run prints a table (task, metric, value,
// stderr) and records a run against the model version; compare prints
// per-task deltas with paired bootstrap intervals and verdicts; gate checks
// rules and exits 0 when all hold, kGateFailedExit otherwise; tasks lists or
// exports the built-in task sets.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "eval/builtin_tasks.h"
#include "eval/evaluate.h"
#include "eval/instructions.h"
#include "eval/report.h"

namespace enclave::cli {
namespace {

// Exit status of `eval gate` when a rule fails (errors keep their own codes).
constexpr int kGateFailedExit = 10;

struct EvalFlags {
  std::string suite;
  double limit = 0;
  int num_fewshot = 0;
  int batch_size = 8;
  bool no_prefix_sharing = false;
  bool chat = false;
  bool no_chat = false;
  std::string samples;
  bool no_record = false;
  bool json = false;
  std::string workspace;
  ComputeFlags compute;
  CLI::Option* limit_opt = nullptr;
  CLI::Option* fewshot_opt = nullptr;
};

void add_eval_flags(CLI::App& cmd, EvalFlags& f, bool records) {
  cmd.add_option("--suite", f.suite,
                 "Suite or task YAML file, or a built-in suite/task (see `enclave eval tasks`)")
      ->required();
  f.limit_opt =
      cmd.add_option("--limit", f.limit, "Documents per task: a count, or a fraction below 1")
          ->check(CLI::PositiveNumber);
  f.fewshot_opt = cmd.add_option("--num-fewshot", f.num_fewshot,
                                 "Few-shot examples per prompt (overrides tasks)")
                      ->check(CLI::Range(0, 1000));
  cmd.add_option("--batch-size", f.batch_size,
                 "Sequences per forward pass when scoring (1: one at a time)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd.add_flag("--no-prefix-sharing", f.no_prefix_sharing,
               "Score every choice with its whole prompt (default: a question's choices share one "
               "context run)");
  auto* chat =
      cmd.add_flag("--chat-template", f.chat, "Render prompts with the model's chat template");
  auto* no_chat = cmd.add_flag("--no-chat-template", f.no_chat,
                               "Plain prompts even where a task asks for chat");
  chat->excludes(no_chat);
  cmd.add_option("--samples", f.samples,
                 "Write every document's prompt, answer and scores to this JSONL file");
  if (records) cmd.add_flag("--no-record", f.no_record, "Do not record a run in the workspace");
  cmd.add_flag("--json", f.json, "Print the results as JSON");
  add_workspace_flag(cmd, f.workspace);
  add_compute_flags(cmd, f.compute);
}

eval::EvalCommon common_of(const EvalFlags& f, std::vector<std::string> command) {
  eval::EvalCommon c;
  c.suite = f.suite;
  c.harness.batch_size = f.batch_size;
  c.harness.share_prefix = !f.no_prefix_sharing;
  if (f.limit_opt->count() > 0) {
    if (f.limit >= 1 && f.limit != static_cast<double>(static_cast<std::int64_t>(f.limit))) {
      fail_input("--limit: a count must be a whole number (a fraction must be below 1), got {}",
                 f.limit);
    }
    c.harness.limit = f.limit;
  }
  if (f.fewshot_opt->count() > 0) c.harness.num_fewshot = f.num_fewshot;
  if (f.chat) c.harness.chat_template = true;
  if (f.no_chat) c.harness.chat_template = false;
  c.harness.keep_samples = !f.samples.empty();
  c.harness.show_progress = true;  // draws only on a terminal
  c.harness.workspace.workspace = workspace_flag(f.workspace);
  c.engine = {.dtype = f.compute.dtype, .device = f.compute.device, .threads = f.compute.threads};
  c.harness.judge_engine = c.engine;
  c.record.command = std::move(command);
  c.no_record = f.no_record;
  return c;
}

void write_samples(const std::string& path, const std::vector<const eval::SuiteResult*>& results,
                   const std::vector<std::string>& models) {
  std::string out;
  for (std::size_t r = 0; r < results.size(); ++r) {
    for (const eval::TaskResult& t : results[r]->tasks) {
      for (nlohmann::json s : t.samples) {
        s["task"] = t.task;
        if (!models.empty()) s["model"] = models[r];
        out += s.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
      }
    }
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << out;
  if (!file) fail(ErrorKind::kIo, "{}: cannot write the samples", path);
}

void print_not_recorded(const std::string& why) {
  if (!why.empty() && why != "--no-record")
    fmt::print(stderr, "note: results not recorded: {}\n", why);
}

std::vector<std::string> argv_of(std::initializer_list<std::string> head, const EvalFlags& f) {
  std::vector<std::string> argv(head);
  argv.insert(argv.end(), {"--suite", f.suite, "--batch-size", std::to_string(f.batch_size)});
  if (f.limit_opt->count() > 0) argv.insert(argv.end(), {"--limit", fmt::format("{}", f.limit)});
  if (f.fewshot_opt->count() > 0)
    argv.insert(argv.end(), {"--num-fewshot", std::to_string(f.num_fewshot)});
  if (f.no_prefix_sharing) argv.push_back("--no-prefix-sharing");
  if (f.chat) argv.push_back("--chat-template");
  if (f.no_chat) argv.push_back("--no-chat-template");
  argv.insert(argv.end(), {"--dtype", f.compute.dtype, "--device", f.compute.device});
  return argv;
}

void register_run(CLI::App& eval) {
  auto flags = std::make_shared<EvalFlags>();
  auto model = std::make_shared<std::string>();
  auto adapter = std::make_shared<std::string>();
  auto mistakes = std::make_shared<std::string>();
  CLI::App* cmd =
      eval.add_subcommand("run", "Evaluate a model on a suite and record the results as a run");
  cmd->add_option("--model", *model, "Model directory or reference (name, name@3, name:alias)")
      ->required();
  cmd->add_option("--adapter", *adapter,
                  "LoRA adapter (directory or reference) applied to the model, unmerged");
  cmd->add_option("--mistakes", *mistakes,
                  "Write every wrong generated answer as a DPO pair (chosen: the reference, "
                  "rejected: the model's) to this JSONL");
  add_eval_flags(*cmd, *flags, /*records=*/true);
  cmd->callback([flags, model, adapter, mistakes] {
    const EvalFlags& f = *flags;
    std::vector<std::string> argv = argv_of({"enclave", "eval", "run", "--model", *model}, f);
    if (!adapter->empty()) argv.insert(argv.end(), {"--adapter", *adapter});
    if (!mistakes->empty()) argv.insert(argv.end(), {"--mistakes", *mistakes});
    eval::EvalRunOutcome out = eval::run_eval({.model = *model,
                                               .adapter = *adapter,
                                               .mistakes = *mistakes,
                                               .common = common_of(f, std::move(argv))});
    if (!f.samples.empty()) write_samples(f.samples, {&out.result}, {});
    if (f.json) {
      nlohmann::json j = eval::suite_result_json(out.result);
      j["model"] = *model;
      j["run_id"] = out.run_id ? nlohmann::json(*out.run_id) : nlohmann::json();
      if (!adapter->empty()) j["adapter"] = *adapter;
      if (!mistakes->empty()) j["mistakes"] = out.n_mistakes;
      std::cout << j.dump(2) << "\n";
    } else {
      fmt::print("{}", eval::format_results_table(out.result));
      if (out.run_id) fmt::print("recorded as run {}\n", *out.run_id);
    }
    if (!mistakes->empty())
      fmt::print(stderr, "wrote {} preference pairs to {}\n", out.n_mistakes, *mistakes);
    print_not_recorded(out.not_recorded);
  });
}

void register_compare(CLI::App& eval) {
  auto flags = std::make_shared<EvalFlags>();
  auto models = std::make_shared<std::vector<std::string>>();
  auto bootstrap = std::make_shared<eval::BootstrapOptions>();
  CLI::App* cmd = eval.add_subcommand("compare",
                                      "Compare model B with model A on a suite: per-task deltas, "
                                      "paired bootstrap intervals, verdicts");
  cmd->add_option("models", *models,
                  "REF_A REF_B (A: the reference, e.g. production; B: the candidate)")
      ->required()
      ->expected(2);
  cmd->add_option("--bootstrap", bootstrap->n_resamples, "Bootstrap resamples")
      ->check(CLI::Range(10, 1000000))
      ->capture_default_str();
  cmd->add_option("--confidence", bootstrap->confidence, "Confidence of the intervals")
      ->check(CLI::Range(0.5, 0.9999))
      ->capture_default_str();
  cmd->add_option("--seed", bootstrap->seed, "Bootstrap seed")->capture_default_str();
  add_eval_flags(*cmd, *flags, /*records=*/false);
  cmd->callback([flags, models, bootstrap] {
    const EvalFlags& f = *flags;
    eval::CompareOptions o{.model_a = (*models)[0],
                           .model_b = (*models)[1],
                           .common = common_of(f, {}),
                           .bootstrap = *bootstrap};
    o.common.no_record = true;
    const eval::Comparison c = eval::run_compare(o);
    if (f.json) {
      std::cout << eval::comparison_json(c).dump(2) << "\n";
    } else {
      fmt::print("{}", eval::format_comparison(c));
    }
  });
}

void register_gate(CLI::App& eval) {
  auto flags = std::make_shared<EvalFlags>();
  auto o = std::make_shared<eval::GateOptions>();
  auto rules = std::make_shared<std::string>();
  CLI::App* cmd = eval.add_subcommand(
      "gate",
      fmt::format(
          "Check a candidate against quality-gate rules: exit 0 when every rule holds, {} when one "
          "fails; recorded as a run",
          kGateFailedExit));
  cmd->add_option("--model", o->model, "Candidate model (directory or reference)")->required();
  cmd->add_option("--baseline", o->baseline,
                  "Baseline model for regression()/delta() rules, e.g. name:production");
  cmd->add_option("--rules", *rules, "Gate rules (YAML)")->required();
  add_eval_flags(*cmd, *flags, /*records=*/true);
  cmd->callback([flags, o, rules] {
    const EvalFlags& f = *flags;
    o->rules = *rules;
    std::vector<std::string> argv =
        argv_of({"enclave", "eval", "gate", "--model", o->model, "--rules", *rules}, f);
    if (!o->baseline.empty()) argv.insert(argv.end(), {"--baseline", o->baseline});
    o->common = common_of(f, std::move(argv));
    eval::GateOutcome out = eval::run_gate(*o);
    if (!f.samples.empty()) {
      std::vector<const eval::SuiteResult*> results = {&out.candidate};
      std::vector<std::string> names = {o->model};
      if (out.baseline) {
        results.push_back(&*out.baseline);
        names.push_back(o->baseline);
      }
      write_samples(f.samples, results, names);
    }
    if (f.json) {
      nlohmann::json j = eval::gate_report_json(out.report);
      j["run_id"] = out.run_id ? nlohmann::json(*out.run_id) : nlohmann::json();
      j["candidate"] = eval::suite_result_json(out.candidate);
      if (out.baseline) j["baseline"] = eval::suite_result_json(*out.baseline);
      std::cout << j.dump(2) << "\n";
    } else {
      fmt::print("{}", eval::format_gate_report(out.report));
      if (out.run_id) fmt::print("recorded as run {}\n", *out.run_id);
    }
    print_not_recorded(out.not_recorded);
    std::cout.flush();
    if (!out.report.passed()) {
      std::string list;
      for (const std::string& rule : out.report.failed_rules) list += "\n  " + rule;
      fmt::print(stderr, "enclave: gate failed: {} rule(s) do not hold:{}\n",
                 out.report.failed_rules.size(), list);
      throw ExitStatus{kGateFailedExit};
    }
  });
}

void register_tasks(CLI::App& eval) {
  auto write_dir = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto instructions = std::make_shared<bool>(false);
  CLI::App* cmd = eval.add_subcommand(
      "tasks", "List the built-in suites and tasks, or write them out as files");
  cmd->add_option("--write", *write_dir,
                  "Write task YAML, JSONL data and suite files into this (new) folder");
  cmd->add_flag("--instructions", *instructions, "List the verifiable instruction ids instead");
  cmd->add_flag("--json", *json, "Print as JSON");
  cmd->callback([write_dir, json, instructions] {
    if (*instructions) {
      for (std::string_view id : eval::instruction_ids()) fmt::print("{}\n", id);
      return;
    }
    if (!write_dir->empty()) {
      const auto files = eval::write_builtin_tasks(*write_dir);
      fmt::print("wrote {} files to {} (suites: {}/general.yaml, {}/skills.yaml)\n", files.size(),
                 *write_dir, *write_dir, *write_dir);
      return;
    }
    nlohmann::json list = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const std::string& suite : eval::builtin_suite_names()) {
      const eval::Suite builtin = *eval::builtin_suite(suite);
      for (const eval::SuiteEntry& e : builtin.entries) {
        std::string metrics;
        for (const eval::MetricSpec& m : eval::effective_metrics(e.task))
          metrics += (metrics.empty() ? "" : ",") + m.name;
        list.push_back({{"suite", suite},
                        {"task", e.task.name},
                        {"output_type", eval::to_string(e.task.output_type)},
                        {"n_docs", e.task.dataset.docs.size()},
                        {"metrics", metrics}});
        rows.push_back({suite, e.task.name, std::string(eval::to_string(e.task.output_type)),
                        std::to_string(e.task.dataset.docs.size()), metrics});
      }
    }
    if (*json) {
      std::cout << list.dump(2) << "\n";
    } else {
      fmt::print("{}",
                 eval::format_table({"suite", "task", "output_type", "docs", "metrics"}, rows));
    }
  });
}

}  // namespace

void register_eval(CLI::App& app) {
  CLI::App* eval =
      app.add_subcommand("eval", "Evaluate models: suites, comparisons and quality gates");
  eval->require_subcommand(1);
  register_run(*eval);
  register_compare(*eval);
  register_gate(*eval);
  register_tasks(*eval);
}

}  // namespace enclave::cli
