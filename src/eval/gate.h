// Quality gates: rules a candidate's suite results must meet before
// promotion, optionally against a baseline (production). Rules file:
//
//   rules:
//     - "domain.acc >= 0.6"                  # absolute threshold
//     - "regression(general.*) <= 0.02"      # no general task drops more than 0.02
//     - "delta(skills.*.exact_match) >= 0"   # candidate - baseline
//     - {metric: "general.text_en.bits_per_byte", max: 4.5}
//     - {metric: "general.*", max_regression: 0.02}
//
// A selector is TASK[.METRIC]; TASK may use * and ? (matching dots too). If
// the last part names a metric, that metric of every matching task is
// checked; otherwise the selector names tasks and their primary (first)
// metric is checked. regression() is how much worse the candidate is than
// the baseline (baseline - candidate for higher-is-better metrics, candidate
// - baseline for perplexity and bits per byte); delta() is candidate -
// baseline. Operators: >=, <=, >, <. A rule holds when every metric it
// selects meets it; a rule that selects nothing fails, so a typo cannot pass.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "eval/suite.h"

namespace enclave::eval {

struct GateRule {
  enum class Measure { kValue, kRegression, kDelta };
  enum class Op { kGe, kLe, kGt, kLt };
  std::string text;  // as written (or rebuilt from the mapping form)
  Measure measure = Measure::kValue;
  std::string selector;
  Op op = Op::kGe;
  double threshold = 0;
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
  double measured = 0;  // the value compared with the threshold
  bool passed = false;
};

struct GateReport {
  std::vector<GateCheck> checks;
  std::vector<std::string> failed_rules;  // each with the reason
  bool passed() const { return failed_rules.empty(); }
};

// Checks the rules. baseline may be null only if no rule needs it
// (Error(kInvalidInput) otherwise).
GateReport evaluate_gate(const std::vector<GateRule>& rules, const SuiteResult& candidate,
                         const SuiteResult* baseline);

nlohmann::json gate_report_json(const GateReport& report);
std::string format_gate_report(const GateReport& report);

// Glob match with * and ? (both match any character, dots included).
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace enclave::eval
