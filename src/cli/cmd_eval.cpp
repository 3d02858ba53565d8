// `enclave eval run | compare | gate | tasks`: evaluation suites over any
// model reference (src/eval). run prints a table (task, metric, value,
// stderr) and records a run against the model version; compare prints
// per-task deltas with paired bootstrap intervals and verdicts; gate checks
// rules and exits 0 when all hold, kGateFailedExit otherwise; tasks lists or
// exports the built-in task sets.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "eval/builtin_tasks.h"
#include "eval/evaluate.h"
#include "eval/instructions.h"

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
  bool no_chat = false;
  std::string samples;
  bool no_record = false;
  bool json = false;
  std::string workspace;
  ComputeFlags compute;
  CLI::Option* limit_opt = nullptr;
  CLI::Option* fewshot_opt = nullptr;
  CLI::Option* chat_opt = nullptr;
  std::vector<std::string> judge_hosts;
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
                 "Sequences per forward pass when scoring, and answers generated together "
                 "(continuous batching; 1: one at a time)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd.add_flag("--no-prefix-sharing", f.no_prefix_sharing,
               "Score every choice with its whole prompt (default: a question's choices share one "
               "context run)");
  // As lm-evaluation-harness's --apply_chat_template: alone, the model's own
  // template; with a file, that Jinja template instead.
  auto* chat = cmd.add_option("--chat-template", f.compute.chat_template,
                              "Render prompts with the model's chat template (or the Jinja FILE "
                              "given)")
                   ->expected(0, 1)
                   ->default_str("");
  auto* no_chat = cmd.add_flag("--no-chat-template", f.no_chat,
                               "Plain prompts even where a task asks for chat");
  chat->excludes(no_chat);
  f.chat_opt = chat;
  cmd.add_option("--samples", f.samples,
                 "Write every document's prompt, answer and scores to this JSONL file");
  cmd.add_option("--allow-judge-host", f.judge_hosts,
                 "A judge server host tasks may send prompts to (repeatable; loopback always)");
  if (records) cmd.add_flag("--no-record", f.no_record, "Do not record a run in the workspace");
  cmd.add_flag("--json", f.json, "Print the results as JSON");
  add_workspace_flag(cmd, f.workspace);
  add_compute_flags(cmd, f.compute);
}

eval::EvalCommon common_of(const EvalFlags& f) {
  eval::EvalCommon c;
  c.suite = f.suite;
  c.harness.batch_size = f.batch_size;
  c.harness.share_prefix = !f.no_prefix_sharing;
  if (f.limit_opt->count() > 0) c.harness.limit = f.limit;
  if (f.fewshot_opt->count() > 0) c.harness.num_fewshot = f.num_fewshot;
  if (f.chat_opt->count() > 0) c.harness.chat_template = true;
  if (f.no_chat) c.harness.chat_template = false;
  c.harness.show_progress = true;  // draws only on a terminal
  c.harness.workspace.workspace = workspace_flag(f.workspace);
  c.engine = {.dtype = compute_dtype(f.compute).dtype,
              .device = f.compute.device,
              .threads = f.compute.threads,
              .chat_template = f.compute.chat_template};
  c.harness.judge_engine = c.engine;
  c.harness.judge_hosts = f.judge_hosts;
  c.no_record = f.no_record;
  c.samples = f.samples;
  return c;
}

void print_not_recorded(const std::string& why) {
  if (!why.empty() && why != "--no-record")
    fmt::print(stderr, "note: results not recorded: {}\n", why);
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
    const eval::EvalRunOptions options{.model = gguf_as_folder(*model),
                                       .adapter = *adapter,
                                       .mistakes = *mistakes,
                                       .common = common_of(*flags)};
    const eval::EvalRunOutcome out = eval::run_eval(options);
    if (flags->json) {
      std::cout << eval::eval_run_json(options, out).dump(2) << "\n";
    } else {
      fmt::print("{}", eval::format_eval_run(out));
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
  auto adapter = std::make_shared<std::string>();
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
  cmd->add_option("--adapter", *adapter,
                  "LoRA adapter (directory or reference) applied to model B, unmerged");
  add_eval_flags(*cmd, *flags, /*records=*/false);
  cmd->callback([flags, models, bootstrap, adapter] {
    const EvalFlags& f = *flags;
    eval::CompareOptions o{.model_a = gguf_as_folder((*models)[0]),
                           .model_b = gguf_as_folder((*models)[1]),
                           .adapter_b = *adapter,
                           .common = common_of(f),
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
  cmd->add_option("--adapter", o->adapter,
                  "LoRA adapter (directory or reference) applied to the candidate, unmerged");
  cmd->add_option("--baseline", o->baseline,
                  "Baseline model for regression()/delta() rules, e.g. name:production");
  cmd->add_option("--rules", *rules, "Gate rules (YAML)")->required();
  add_eval_flags(*cmd, *flags, /*records=*/true);
  cmd->callback([flags, o, rules] {
    o->rules = *rules;
    o->common = common_of(*flags);
    o->model = gguf_as_folder(o->model);
    if (!o->baseline.empty()) o->baseline = gguf_as_folder(o->baseline);
    const eval::GateOutcome out = eval::run_gate(*o);
    if (flags->json) {
      std::cout << eval::gate_outcome_json(out).dump(2) << "\n";
    } else {
      fmt::print("{}", eval::format_gate_outcome(out));
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
    if (*json) {
      std::cout << eval::builtin_task_list_json().dump(2) << "\n";
    } else {
      fmt::print("{}", eval::format_builtin_task_list());
    }
  });
}

}  // namespace

void register_eval(CLI::App& app) {
  CLI::App* eval = app.add_subcommand("eval");
  eval->require_subcommand(1);
  register_run(*eval);
  register_compare(*eval);
  register_gate(*eval);
  register_tasks(*eval);
}

}  // namespace enclave::cli
