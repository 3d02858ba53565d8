#include "eval/gate.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <charconv>
#include <cmath>

#include "core/error.h"
#include "core/json.h"
#include "core/yaml.h"
#include "eval/report.h"

namespace enclave::eval {
namespace {

std::string_view op_text(GateRule::Op op) {
  switch (op) {
    case GateRule::Op::kGe:
      return ">=";
    case GateRule::Op::kLe:
      return "<=";
    case GateRule::Op::kGt:
      return ">";
    case GateRule::Op::kLt:
      return "<";
  }
  return "?";
}

GateRule::Op parse_op(std::string_view text) {
  if (text == ">=") return GateRule::Op::kGe;
  if (text == "<=") return GateRule::Op::kLe;
  if (text == ">") return GateRule::Op::kGt;
  return GateRule::Op::kLt;
}

bool holds(double value, GateRule::Op op, double threshold) {
  switch (op) {
    case GateRule::Op::kGe:
      return value >= threshold;
    case GateRule::Op::kLe:
      return value <= threshold;
    case GateRule::Op::kGt:
      return value > threshold;
    case GateRule::Op::kLt:
      return value < threshold;
  }
  return false;
}

std::string_view measure_name(GateRule::Measure m) {
  switch (m) {
    case GateRule::Measure::kValue:
      return "";
    case GateRule::Measure::kRegression:
      return "regression";
    case GateRule::Measure::kDelta:
      return "delta";
    case GateRule::Measure::kImprovement:
      return "improvement";
  }
  return "";
}

std::string rule_text(const GateRule& r) {
  const std::string lhs = r.measure == GateRule::Measure::kValue
                              ? r.selector
                              : fmt::format("{}({})", measure_name(r.measure), r.selector);
  std::string text = fmt::format("{} {} {}", lhs, op_text(r.op), r.threshold);
  if (r.confidence) text += fmt::format(" at {}%", *r.confidence * 100);
  return text;
}

// Rules with <= or < are met by the measure's upper bound, >= and > by its
// lower bound.
bool bounded_above(GateRule::Op op) { return op == GateRule::Op::kLe || op == GateRule::Op::kLt; }

void check_selector(const std::string& selector, std::string_view what) {
  if (selector.empty()) fail_input("{}: empty selector", what);
  for (char c : selector) {
    if (c == ' ' || c == '(' || c == ')' || static_cast<unsigned char>(c) < 0x20) {
      fail_input("{}: selector '{}' has a bad character", what, selector);
    }
  }
}

struct Selected {
  const TaskResult* task;
  std::size_t metric;
};

std::vector<Selected> select(const std::string& selector, const SuiteResult& results) {
  std::vector<Selected> out;
  const std::size_t dot = selector.rfind('.');
  if (dot != std::string::npos) {
    const std::string task_glob = selector.substr(0, dot);
    const std::string metric = selector.substr(dot + 1);
    for (const TaskResult& t : results.tasks) {
      if (!glob_match(task_glob, t.task)) continue;
      for (std::size_t m = 0; m < t.metrics.size(); ++m) {
        if (t.metrics[m].name == metric) out.push_back({&t, m});
      }
    }
  }
  if (!out.empty()) return out;
  for (const TaskResult& t : results.tasks) {
    if (glob_match(selector, t.task) && !t.metrics.empty()) out.push_back({&t, 0});
  }
  return out;
}

const TaskResult* find_task(const SuiteResult& results, const std::string& name) {
  for (const TaskResult& t : results.tasks) {
    if (t.task == name) return &t;
  }
  return nullptr;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative wildcard matching with backtracking to the last '*'.
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

GateRule parse_gate_rule(const nlohmann::json& value, std::string_view what) {
  GateRule r;
  if (value.is_string()) {
    static const re2::RE2 grammar(
        R"(^\s*(?:(regression|delta|improvement)\(\s*([^()\s]+)\s*\)|([^()\s<>=]+))\s*(>=|<=|>|<)\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)(?:\s+at\s+([0-9]+(?:\.[0-9]+)?)\s*%)?\s*$)");
    std::string fn;
    std::string inner;
    std::string plain;
    std::string op;
    std::string number;
    std::string percent;
    if (!re2::RE2::FullMatch(value.get<std::string>(), grammar, &fn, &inner, &plain, &op, &number,
                             &percent)) {
      fail_input(
          "{}: rule '{}' is not 'SELECTOR OP NUMBER' or 'FN(SELECTOR) OP NUMBER [at C%]' (FN: "
          "regression, delta, improvement; OP: >=, <=, >, <)",
          what, value.get<std::string>());
    }
    r.measure = fn == "regression"    ? GateRule::Measure::kRegression
                : fn == "delta"       ? GateRule::Measure::kDelta
                : fn == "improvement" ? GateRule::Measure::kImprovement
                                      : GateRule::Measure::kValue;
    if (!percent.empty()) {
      if (r.measure == GateRule::Measure::kValue)
        fail_input(
            "{}: 'at {}%' needs a comparison with the baseline (regression, delta or "
            "improvement)",
            what, percent);
      const double c = std::stod(percent) / 100;
      if (!(c >= 0.5 && c < 1))
        fail_input("{}: confidence {}% is not in [50%, 100%)", what, percent);
      r.confidence = c;
    }
    r.selector = fn.empty() ? plain : inner;
    r.op = parse_op(op);
    auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), r.threshold);
    if (ec != std::errc() || ptr != number.data() + number.size()) {
      fail_input("{}: threshold '{}' is not a usable number", what, number);
    }
  } else if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      if (key != "metric" && key != "min" && key != "max" && key != "max_regression") {
        fail_input("{}: unknown field '{}' (metric, min, max, max_regression)", what, key);
      }
    }
    r.selector = json_string(value, "metric", what);
    const int n = static_cast<int>(value.contains("min")) +
                  static_cast<int>(value.contains("max")) +
                  static_cast<int>(value.contains("max_regression"));
    if (n != 1) fail_input("{}: give exactly one of min, max, max_regression", what);
    if (value.contains("min")) {
      r.op = GateRule::Op::kGe;
      r.threshold = json_number(value, "min", what);
    } else if (value.contains("max")) {
      r.op = GateRule::Op::kLe;
      r.threshold = json_number(value, "max", what);
    } else {
      r.measure = GateRule::Measure::kRegression;
      r.op = GateRule::Op::kLe;
      r.threshold = json_number(value, "max_regression", what);
    }
  } else {
    fail_input("{}: expected a rule string or a mapping, got {}", what, json_type_name(value));
  }
  check_selector(r.selector, what);
  if (!std::isfinite(r.threshold)) fail_input("{}: threshold must be a finite number", what);
  r.text = rule_text(r);
  return r;
}

std::vector<GateRule> parse_gate_rules(const nlohmann::json& root, std::string_view what) {
  if (!root.is_object() || !root.contains("rules"))
    fail_input("{}: expected a mapping with 'rules'", what);
  for (const auto& [key, value] : root.items()) {
    if (key != "rules" && key != "description") fail_input("{}: unknown field '{}'", what, key);
  }
  const nlohmann::json& list = root["rules"];
  if (!list.is_array() || list.empty())
    fail_input("{}: field 'rules': expected a non-empty list", what);
  std::vector<GateRule> rules;
  for (std::size_t i = 0; i < list.size(); ++i) {
    rules.push_back(parse_gate_rule(list[i], fmt::format("{}: rules[{}]", what, i)));
  }
  return rules;
}

std::vector<GateRule> load_gate_rules(const std::filesystem::path& path) {
  return parse_gate_rules(read_yaml_file(path), path.string());
}

std::vector<TaskMetricNames> suite_metric_names(const Suite& suite) {
  std::vector<TaskMetricNames> out;
  for (const SuiteEntry& e : suite.entries) {
    TaskMetricNames t{.task = e.task.name};
    for (const MetricSpec& m : effective_metrics(e.task)) t.metrics.push_back(m.name);
    out.push_back(std::move(t));
  }
  return out;
}

void check_gate_selectors(const std::vector<GateRule>& rules,
                          const std::vector<TaskMetricNames>& names, std::string_view what) {
  // The same selection as evaluate_gate's, over results with no documents.
  SuiteResult skeleton;
  for (const TaskMetricNames& t : names) {
    TaskResult r{.task = t.task};
    for (const std::string& m : t.metrics) r.metrics.push_back({.name = m});
    skeleton.tasks.push_back(std::move(r));
  }
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (!select(rules[i].selector, skeleton).empty()) continue;
    std::string valid;
    for (const TaskMetricNames& t : names) {
      for (const std::string& m : t.metrics)
        valid += fmt::format("{}{}.{}", valid.empty() ? "" : ", ", t.task, m);
    }
    fail_input("{}: rules[{}]: '{}' selects no task metric of this suite (valid: {})", what, i,
               rules[i].selector, valid);
  }
}

bool needs_baseline(const std::vector<GateRule>& rules) {
  for (const GateRule& r : rules) {
    if (r.measure != GateRule::Measure::kValue) return true;
  }
  return false;
}

GateReport evaluate_gate(const std::vector<GateRule>& rules, const SuiteResult& candidate,
                         const SuiteResult* baseline, const BootstrapOptions& bootstrap) {
  if (baseline == nullptr && needs_baseline(rules)) {
    fail_input("gate: regression and delta rules need a baseline model (--baseline)");
  }
  GateReport report;
  for (const GateRule& rule : rules) {
    std::vector<Selected> selected = select(rule.selector, candidate);
    if (selected.empty()) {
      report.failed_rules.push_back(fmt::format("{}: selects no task metric", rule.text));
      continue;
    }
    int failures = 0;
    for (const Selected& s : selected) {
      const MetricSamples& m = s.task->metrics[s.metric];
      GateCheck check{
          .rule = rule.text, .task = s.task->task, .metric = m.name, .candidate = aggregate(m)};
      check.measured = check.candidate;
      if (rule.measure != GateRule::Measure::kValue) {
        const TaskResult* base = find_task(*baseline, s.task->task);
        const MetricSamples* bm = base != nullptr ? base->find(m.name) : nullptr;
        if (bm == nullptr)
          fail(ErrorKind::kInternal, "gate: baseline has no {}.{}", s.task->task, m.name);
        check.baseline = aggregate(*bm);
        // The measure as sign * (candidate - baseline).
        double sign = 1;
        if (rule.measure == GateRule::Measure::kRegression) sign = m.higher_is_better ? -1 : 1;
        if (rule.measure == GateRule::Measure::kImprovement) sign = m.higher_is_better ? 1 : -1;
        check.measured = sign * (check.candidate - *check.baseline);
        if (rule.confidence) {
          // A one-sided C% bound is an end of the two-sided (2C - 1) interval.
          BootstrapOptions b = bootstrap;
          b.confidence = 2 * *rule.confidence - 1;
          const PairedInterval iv = paired_bootstrap(*bm, m, b);
          check.low = std::min(sign * iv.low, sign * iv.high);
          check.high = std::max(sign * iv.low, sign * iv.high);
        }
      }
      const bool upper = bounded_above(rule.op);
      const double decisive = rule.confidence ? (upper ? *check.high : *check.low) : check.measured;
      check.passed = std::isfinite(decisive) && holds(decisive, rule.op, rule.threshold);
      const std::string verdict = fmt::format(
          "{} {} {}", format_value(decisive),
          check.passed ? op_text(rule.op) : "does not meet " + std::string(op_text(rule.op)),
          rule.threshold);
      check.why = rule.confidence ? fmt::format("{}: {} end of the one-sided {}% interval", verdict,
                                                upper ? "upper" : "lower", *rule.confidence * 100)
                                  : fmt::format("{}: point estimate", verdict);
      if (!check.passed) ++failures;
      report.checks.push_back(check);
    }
    if (failures > 0) {
      std::string which;
      for (const GateCheck& c : report.checks) {
        if (c.rule == rule.text && !c.passed) {
          which += fmt::format("{}{}.{} = {}", which.empty() ? "" : ", ", c.task, c.metric,
                               format_value(c.measured));
          if (c.low) which += fmt::format(" ({})", c.why);
        }
      }
      report.failed_rules.push_back(fmt::format("{}: {}", rule.text, which));
    }
  }
  return report;
}

nlohmann::json gate_report_json(const GateReport& report) {
  nlohmann::json checks = nlohmann::json::array();
  for (const GateCheck& c : report.checks) {
    checks.push_back({{"rule", c.rule},
                      {"task", c.task},
                      {"metric", c.metric},
                      {"candidate", json_metric_value(c.candidate)},
                      {"baseline", c.baseline ? json_metric_value(*c.baseline) : nlohmann::json()},
                      {"measured", json_metric_value(c.measured)},
                      {"interval", c.low ? nlohmann::json::array({json_metric_value(*c.low),
                                                                  json_metric_value(*c.high)})
                                         : nlohmann::json()},
                      {"passed", c.passed},
                      {"why", c.why}});
  }
  return {{"passed", report.passed()}, {"failed_rules", report.failed_rules}, {"checks", checks}};
}

std::string format_gate_report(const GateReport& report) {
  std::vector<std::vector<std::string>> rows;
  for (const GateCheck& c : report.checks) {
    rows.push_back(
        {c.rule, c.task + "." + c.metric, format_value(c.candidate),
         c.baseline ? format_value(*c.baseline) : "-", format_value(c.measured),
         c.low ? fmt::format("[{}, {}]", format_value(*c.low), format_value(*c.high)) : "-",
         c.passed ? "pass" : "FAIL", c.why});
  }
  std::string out = format_table(
      {"rule", "metric", "candidate", "baseline", "estimate", "interval", "result", "why"}, rows);
  if (report.passed()) {
    out += "gate passed\n";
  } else {
    out += fmt::format("gate failed: {} rule(s)\n", report.failed_rules.size());
    for (const std::string& f : report.failed_rules) out += "  FAIL " + f + "\n";
  }
  return out;
}

}  // namespace enclave::eval
