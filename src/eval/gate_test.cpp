#include "eval/gate.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/yaml.h"
#include "eval/compare.h"
#include "eval/error_testing.h"

namespace enclave::eval {
namespace {

MetricSamples samples(const std::string& name, std::vector<double> values, bool higher = true) {
  MetricSamples m{.name = name, .higher_is_better = higher};
  for (double v : values) m.add(v);
  return m;
}

TaskResult task(const std::string& name, std::vector<MetricSamples> metrics) {
  TaskResult t;
  t.task = name;
  t.metrics = std::move(metrics);
  t.n_docs = t.metrics.front().size();
  return t;
}

// domain.acc 0.75; general.a acc 0.5; general.b exact_match 1.0;
// general.text bits_per_byte 2.0 (lower is better).
SuiteResult results(double shift) {
  SuiteResult r;
  r.suite = "release";
  r.tasks = {task("domain", {samples("acc", {1, 1, 1, 0}), samples("acc_norm", {1, 0, 0, 0})}),
             task("general.a", {samples("acc", {0.5 + shift, 0.5 + shift})}),
             task("general.b", {samples("exact_match", {1.0, 1.0})}),
             task("general.text", {samples("bits_per_byte", {2.0 - shift, 2.0 - shift}, false)})};
  r.weights.assign(r.tasks.size(), 1.0);
  return r;
}

TEST(GateTest, ParsesRules) {
  GateRule r = parse_gate_rule("domain.acc >= 0.6", "r");
  EXPECT_EQ(r.measure, GateRule::Measure::kValue);
  EXPECT_EQ(r.selector, "domain.acc");
  EXPECT_EQ(r.op, GateRule::Op::kGe);
  EXPECT_DOUBLE_EQ(r.threshold, 0.6);
  r = parse_gate_rule(" regression( general.* )<=0.02 ", "r");
  EXPECT_EQ(r.measure, GateRule::Measure::kRegression);
  EXPECT_EQ(r.selector, "general.*");
  EXPECT_EQ(r.text, "regression(general.*) <= 0.02");
  r = parse_gate_rule(nlohmann::json{{"metric", "general.*"}, {"max_regression", 0.02}}, "r");
  EXPECT_EQ(r.text, "regression(general.*) <= 0.02");
  r = parse_gate_rule(nlohmann::json{{"metric", "x.bits_per_byte"}, {"max", 3}}, "r");
  EXPECT_EQ(r.op, GateRule::Op::kLe);
  EXPECT_EQ(parse_gate_rule("delta(skills.*.exact_match) > -1e-3", "r").measure,
            GateRule::Measure::kDelta);

  auto err = [](const nlohmann::json& rule) {
    return testing::error_message([&] { parse_gate_rule(rule, "gate.yaml: rules[2]"); });
  };
  EXPECT_NE(err("domain.acc => 0.6").find("gate.yaml: rules[2]"), std::string::npos);
  EXPECT_NE(err("domain.acc >= high").find("not 'SELECTOR OP NUMBER'"), std::string::npos);
  EXPECT_NE(err("improve(domain) >= 1").find("not 'SELECTOR"), std::string::npos);
  EXPECT_NE(err(">= 1").find("not 'SELECTOR"), std::string::npos);
  EXPECT_NE(err("a.acc >= 1e999").find("not a usable number"), std::string::npos);
  EXPECT_NE(err(nlohmann::json{{"metric", "a"}, {"min", 1}, {"max", 2}}).find("exactly one"),
            std::string::npos);
  EXPECT_NE(err(nlohmann::json{{"metric", "a"}, {"minimum", 1}}).find("unknown field"),
            std::string::npos);
  EXPECT_NE(err(42).find("expected a rule"), std::string::npos);
  EXPECT_THROW(parse_gate_rules(parse_yaml("rules: []", "g"), "g"), Error);
  EXPECT_THROW(parse_gate_rules(parse_yaml("rule: ['a.acc >= 1']", "g"), "g"), Error);
}

TEST(GateTest, GlobMatches) {
  EXPECT_TRUE(glob_match("general.*", "general.a"));
  EXPECT_TRUE(glob_match("general.*", "general.text_en"));
  EXPECT_FALSE(glob_match("general.*", "generally"));
  EXPECT_TRUE(glob_match("*", "anything.at.all"));
  EXPECT_TRUE(glob_match("skills.*_ko", "skills.reverse_ko"));
  EXPECT_FALSE(glob_match("skills.*_ko", "skills.reverse_en"));
  EXPECT_TRUE(glob_match("a?c", "abc"));
  EXPECT_FALSE(glob_match("a?c", "ac"));
}

TEST(GateTest, PassesAndFailsByRule) {
  const std::vector<GateRule> rules = parse_gate_rules(parse_yaml(R"(
rules:
  - "domain.acc >= 0.6"
  - "regression(general.*) <= 0.02"
)",
                                                                  "gate.yaml"),
                                                       "gate.yaml");
  const SuiteResult baseline = results(0.0);
  // Candidate equal to the baseline: passes (domain.acc 0.75 >= 0.6; no regression).
  GateReport same = evaluate_gate(rules, results(0.0), &baseline);
  EXPECT_TRUE(same.passed()) << format_gate_report(same);
  // general.* selects the primary metric of the three general tasks.
  EXPECT_EQ(same.checks.size(), 1u + 3u);
  // Candidate 0.1 worse on general.a (and bits per byte 0.1 higher): fails.
  GateReport worse = evaluate_gate(rules, results(-0.1), &baseline);
  EXPECT_FALSE(worse.passed());
  ASSERT_EQ(worse.failed_rules.size(), 1u);
  EXPECT_NE(worse.failed_rules[0].find("general.a.acc = 0.1000"), std::string::npos)
      << worse.failed_rules[0];
  EXPECT_NE(worse.failed_rules[0].find("general.text.bits_per_byte = 0.1000"), std::string::npos);
  // Better is never a regression.
  EXPECT_TRUE(evaluate_gate(rules, results(0.1), &baseline).passed());
  // A threshold the candidate misses.
  GateReport low = evaluate_gate({parse_gate_rule("domain.acc >= 0.8", "r")}, results(0), nullptr);
  EXPECT_FALSE(low.passed());
  // Selecting nothing fails rather than passing silently.
  GateReport none = evaluate_gate({parse_gate_rule("domian.acc >= 0.1", "r")}, results(0), nullptr);
  EXPECT_FALSE(none.passed());
  EXPECT_NE(none.failed_rules[0].find("selects no task metric"), std::string::npos);
  // A metric named explicitly; and the task's primary metric by task name.
  EXPECT_TRUE(evaluate_gate({parse_gate_rule("domain.acc_norm <= 0.25", "r")}, results(0), nullptr)
                  .passed());
  EXPECT_TRUE(
      evaluate_gate({parse_gate_rule("domain >= 0.75", "r")}, results(0), nullptr).passed());
  EXPECT_THROW(evaluate_gate(rules, results(0), nullptr), Error);  // regression without a baseline
  nlohmann::json j = gate_report_json(worse);
  EXPECT_EQ(j["passed"], false);
  EXPECT_EQ(j["checks"].size(), 4u);
}

TEST(CompareTest, DeltasAndVerdicts) {
  SuiteResult a = results(0.0);
  SuiteResult b = results(0.0);
  // B gets every domain document right where A missed one of four: not significant on 4 documents.
  b.tasks[0].metrics[0] = samples("acc", {1, 1, 1, 1});
  Comparison c = compare_results(a, b, {.n_resamples = 500});
  ASSERT_EQ(c.rows.size(), 5u);
  EXPECT_EQ(c.rows[0].task, "domain");
  EXPECT_DOUBLE_EQ(c.rows[0].interval.delta, 0.25);
  EXPECT_TRUE(c.rows[0].primary);
  EXPECT_FALSE(c.rows[1].primary);
  EXPECT_EQ(c.rows[2].verdict, Verdict::kNoSignificantDifference);  // identical
  const std::string table = format_comparison(c);
  EXPECT_NE(table.find("no significant difference"), std::string::npos);
  EXPECT_EQ(comparison_json(c)["rows"].size(), 5u);
  SuiteResult shorter = a;
  shorter.tasks.pop_back();
  EXPECT_THROW(compare_results(a, shorter, {}), Error);
}

}  // namespace
}  // namespace enclave::eval
