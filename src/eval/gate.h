// Quality gates: rules a candidate's suite results must meet before
// promotion, optionally against a baseline (production). Rules file:
//
//   rules:
//     - "domain.acc >= 0.6"                  # absolute threshold
//     - "regression(general.*) <= 0.02"      # no general task drops more than 0.02
//     - "delta(skills.*.exact_match) >= 0"   # candidate - baseline
//     - {metric: "general.text_en.bits_per_byte", max: 4.5}
//     - {metric: "general.*", max_regression: 0.02}
//     - "regression(general.*) <= 0.02 at 95%"   # significance: see below
//     - "improvement(domain.acc) >= 0 at 95%"
//
// A selector is TASK[.METRIC]; TASK may use * and ? (matching dots too). If
// the last part names a metric, that metric of every matching task is
// checked; otherwise the selector names tasks and their primary (first)
// metric is checked. regression() is how much worse the candidate is than
// the baseline (baseline - candidate for higher-is-better metrics, candidate
// - baseline for perplexity and bits per byte); delta() is candidate -
// baseline; improvement() is minus regression(). Operators: >=, <=, >, <. A
// rule holds when every metric it selects meets it; a rule that selects
// nothing is an input error (check_gate_selectors, before any model runs),
// and fails in evaluate_gate, so a typo cannot pass.
//
// "at C%" (regression, delta and improvement rules) decides on a one-sided
// C% paired-bootstrap interval (bootstrap.h) of the measure instead of its
// point estimate: a rule with <= or < passes when the interval's upper end
// meets it (the measure is at most the threshold with C% confidence), one
// with >= or > when its lower end does. The one-sided C% bounds are the
// (1-C) and C percentiles of the resampled measure.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "eval/bootstrap.h"
#include "eval/suite.h"

namespace enclave::eval {

struct GateRule {
  enum class Measure { kValue, kRegression, kDelta, kImprovement };
  enum class Op { kGe, kLe, kGt, kLt };
  std::string text;  // as written (or rebuilt from the mapping form)
  Measure measure = Measure::kValue;
  std::string selector;
  Op op = Op::kGe;
  double threshold = 0;
  std::optional<double> confidence;  // 0.95 for "at 95%"; none: the point estimate decides
};

// Parses one rule ("domain.acc >= 0.6"); Error(kInvalidInput) naming `what`.
GateRule parse_gate_rule(const nlohmann::json& value, std::string_view what);
// Reads a rules file. Errors name the file and the rule index.
std::vector<GateRule> load_gate_rules(const std::filesystem::path& path);
std::vector<GateRule> parse_gate_rules(const nlohmann::json& value, std::string_view what);
bool needs_baseline(const std::vector<GateRule>& rules);

struct GateCheck {
  std::string rule;
  std::string task;
  std::string metric;
  double candidate = 0;
  std::optional<double> baseline;
  double measured = 0;  // the point estimate of the rule's measure
  // With a confidence: the one-sided interval's ends (each a one-sided bound).
  std::optional<double> low;
  std::optional<double> high;
  bool passed = false;
  std::string why;  // "0.059 > 0.02: upper end of the one-sided 95% interval"
};

struct GateReport {
  std::vector<GateCheck> checks;
  std::vector<std::string> failed_rules;  // each with the reason
  bool passed() const { return failed_rules.empty(); }
};

// The metric names each task of a suite reports, for checking selectors
// before anything is evaluated.
struct TaskMetricNames {
  std::string task;
  std::vector<std::string> metrics;
};
std::vector<TaskMetricNames> suite_metric_names(const Suite& suite);

// Throws Error(kInvalidInput) naming `what`, the rule and every valid
// TASK.METRIC when a rule selects nothing.
void check_gate_selectors(const std::vector<GateRule>& rules,
                          const std::vector<TaskMetricNames>& names, std::string_view what);

// Checks the rules. baseline may be null only if no rule needs it
// (Error(kInvalidInput) otherwise). bootstrap gives the resamples and seed
// of significance rules (its confidence is each rule's own).
GateReport evaluate_gate(const std::vector<GateRule>& rules, const SuiteResult& candidate,
                         const SuiteResult* baseline, const BootstrapOptions& bootstrap = {});

nlohmann::json gate_report_json(const GateReport& report);
std::string format_gate_report(const GateReport& report);

// Glob match with * and ? (both match any character, dots included).
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace enclave::eval
