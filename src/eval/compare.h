// Comparing two models on one suite: every task metric of model B against
// model A on the same documents (same prompts, same few-shot examples), with
// the delta B - A, a paired bootstrap interval (bootstrap.h) and a verdict:
// "better", "worse" or "no significant difference" for B.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/bootstrap.h"
#include "eval/suite.h"

namespace enclave::eval {

struct CompareRow {
  std::string task;
  std::string metric;
  bool higher_is_better = true;
  bool primary = false;  // the task's first metric
  PairedInterval interval;
  Verdict verdict = Verdict::kNoSignificantDifference;
};

struct Comparison {
  std::string suite;
  std::string model_a;
  std::string model_b;
  BootstrapOptions bootstrap;
  std::vector<CompareRow> rows;
};

// Throws Error(kInvalidInput) if the results do not hold the same tasks,
// metrics and document counts.
Comparison compare_results(const SuiteResult& a, const SuiteResult& b,
                           const BootstrapOptions& options);

nlohmann::json comparison_json(const Comparison& comparison);
std::string format_comparison(const Comparison& comparison);

}  // namespace enclave::eval
