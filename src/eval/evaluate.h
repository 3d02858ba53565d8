// The three evaluation commands as library calls (the CLI only parses flags):
//   run_eval     one model on a suite; prints nothing; records a run
//   run_compare  two models on the same suite, with bootstrap intervals
//   run_gate     a candidate (and baseline) against gate rules; records a run
// Models are references resolved like every command's --model: a directory
// (Hugging Face layout) or a registry reference (name, name@3, name:alias).
// Models are loaded one at a time, so comparing two large models never holds
// both in memory. Each call also writes the files its options ask for (the
// samples, `eval run`'s mistakes) and records the command line it was given
// or, failing that, rebuilds it from the options; format_* and *_json give
// what the commands print.
// Thread safety: one call per thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "eval/compare.h"
#include "eval/gate.h"
#include "eval/harness.h"
#include "eval/record.h"
#include "eval/suite.h"
#include "model/engine.h"

namespace enclave::eval {

// What every evaluation command shares (the CLI fills it from its flags).
struct EvalCommon {
  std::string suite;       // file, built-in suite or task name
  HarnessOptions harness;  // harness.workspace also selects the store for recording and refs
  EngineOptions engine;
  // record.workspace is taken from harness.workspace; an empty
  // record.command is rebuilt from these options (`enclave eval run ...`).
  RecordTarget record;
  bool no_record = false;
  // When set: every document's prompt, answer and scores as JSONL, each with
  // its "task" (and, from compare and gate, its "model"), written atomically.
  std::filesystem::path samples;
};

struct EvalRunOptions {
  std::string model;
  // A PEFT LoRA adapter (directory or registry reference) applied to the
  // model unmerged, as `generate` and `serve` apply one; "" = none.
  std::string adapter;
  // When set: every wrong generate_until answer as a DPO pair
  // (TaskResult::mistakes), written here as TRL preference JSONL, atomically.
  std::filesystem::path mistakes;
  EvalCommon common;
};

struct EvalRunOutcome {
  SuiteResult result;
  std::size_t n_mistakes = 0;          // pairs written to options.mistakes
  std::optional<std::int64_t> run_id;  // none when not recorded
  std::string not_recorded;            // why, when not recorded
};

// Throws Error(kInvalidInput) when mistakes is set and the suite has no
// generate_until task, or for a harness.limit of 1 or more that is not a
// whole number (before any model runs).
EvalRunOutcome run_eval(const EvalRunOptions& options);
// The results as `eval run` prints them: the table and "recorded as run N",
// or JSON (suite_result_json plus "model", "run_id", "adapter", "mistakes").
std::string format_eval_run(const EvalRunOutcome& outcome);
nlohmann::json eval_run_json(const EvalRunOptions& options, const EvalRunOutcome& outcome);

struct CompareOptions {
  std::string model_a;
  std::string model_b;
  std::string adapter_b;  // a LoRA adapter applied to B (the candidate); "" = none
  EvalCommon common;
  BootstrapOptions bootstrap;
};

Comparison run_compare(const CompareOptions& options);

struct GateOptions {
  std::string model;
  std::string adapter;   // a LoRA adapter applied to the candidate; "" = none
  std::string baseline;  // may be empty when no rule needs it
  std::filesystem::path rules;
  EvalCommon common;
};

struct GateOutcome {
  GateReport report;
  SuiteResult candidate;
  std::optional<SuiteResult> baseline;
  std::optional<std::int64_t> run_id;
  std::string not_recorded;
  // The `eval run` whose recorded results stood in for an evaluation.
  std::optional<std::int64_t> candidate_reused_from;
  std::optional<std::int64_t> baseline_reused_from;
};

// Throws Error(kInvalidInput) for malformed rules, a rule that selects no
// metric of the suite (before any model runs) or regression rules without a
// baseline. A model whose `eval run` with the same suite and settings is
// recorded is not evaluated again (record.h find_recorded_eval), unless
// samples are asked for.
GateOutcome run_gate(const GateOptions& options);
// The gate report and "recorded as run N", or JSON (gate_report_json plus
// "run_id", "candidate" and "baseline" results).
std::string format_gate_outcome(const GateOutcome& outcome);
nlohmann::json gate_outcome_json(const GateOutcome& outcome);

}  // namespace enclave::eval
