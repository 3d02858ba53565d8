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

std::string rule_text(const GateRule& r) {
  const std::string lhs = r.measure == GateRule::Measure::kValue ? r.selector
                          : r.measure == GateRule::Measure::kRegression
                              ? "regression(" + r.selector + ")"
                              : "delta(" + r.selector + ")";
  return fmt::format("{} {} {}", lhs, op_text(r.op), r.threshold);
}

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
        R"(^\s*(?:(regression|delta)\(\s*([^()\s]+)\s*\)|([^()\s<>=]+))\s*(>=|<=|>|<)\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*$)");
    std::string fn;
    std::string inner;
    std::string plain;
    std::string op;
    std::string number;
    if (!re2::RE2::FullMatch(value.get<std::string>(), grammar, &fn, &inner, &plain, &op,
                             &number)) {
      fail_input(
          "{}: rule '{}' is not 'SELECTOR OP NUMBER' or 'regression(SELECTOR) OP NUMBER' (OP: >=, "
          "<=, >, <)",
          what, value.get<std::string>());
    }
    r.measure = fn == "regression" ? GateRule::Measure::kRegression
                : fn == "delta"    ? GateRule::Measure::kDelta
                                   : GateRule::Measure::kValue;
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

bool needs_baseline(const std::vector<GateRule>& rules) {
  for (const GateRule& r : rules) {
    if (r.measure != GateRule::Measure::kValue) return true;
  }
  return false;
}

GateReport evaluate_gate(const std::vector<GateRule>& rules, const SuiteResult& candidate,
                         const SuiteResult* baseline) {
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
        const double delta = check.candidate - *check.baseline;
        check.measured = rule.measure == GateRule::Measure::kDelta
                             ? delta
                             : (m.higher_is_better ? -delta : delta);
      }
      check.passed =
          std::isfinite(check.measured) && holds(check.measured, rule.op, rule.threshold);
      if (!check.passed) ++failures;
      report.checks.push_back(check);
    }
    if (failures > 0) {
      std::string which;
      for (const GateCheck& c : report.checks) {
        if (c.rule == rule.text && !c.passed) {
          which += fmt::format("{}{}.{} = {}", which.empty() ? "" : ", ", c.task, c.metric,
                               format_value(c.measured));
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
                      {"passed", c.passed}});
  }
  return {{"passed", report.passed()}, {"failed_rules", report.failed_rules}, {"checks", checks}};
}

std::string format_gate_report(const GateReport& report) {
  std::vector<std::vector<std::string>> rows;
  for (const GateCheck& c : report.checks) {
    rows.push_back({c.rule, c.task + "." + c.metric, format_value(c.candidate),
                    c.baseline ? format_value(*c.baseline) : "-", format_value(c.measured),
                    c.passed ? "pass" : "FAIL"});
  }
  std::string out =
      format_table({"rule", "metric", "candidate", "baseline", "measured", "result"}, rows);
  if (report.passed()) {
    out += "gate passed\n";
  } else {
    out += fmt::format("gate failed: {} rule(s)\n", report.failed_rules.size());
    for (const std::string& f : report.failed_rules) out += "  FAIL " + f + "\n";
  }
  return out;
}

}  // namespace enclave::eval
