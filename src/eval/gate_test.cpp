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

// One task's results: per-document values of one metric.
SuiteResult one_task(const std::string& name, std::vector<double> values, bool higher = true) {
  SuiteResult r;
  r.suite = "s";
  r.tasks = {task(name, {samples(higher ? "acc" : "bits_per_byte", std::move(values), higher)})};
  r.weights = {1.0};
  return r;
}

// n documents: `lost` the baseline got right and the candidate wrong,
// `gained` the other way round, the rest right for both.
std::pair<SuiteResult, SuiteResult> paired(int n, int lost, int gained) {
  std::vector<double> base(n, 1.0), cand(n, 1.0);
  for (int i = 0; i < lost; ++i) cand[i] = 0;
  for (int i = lost; i < lost + gained; ++i) base[i] = 0;
  return {one_task("general.a", base), one_task("general.a", cand)};
}

TEST(GateTest, SignificanceRulesParse) {
  GateRule r = parse_gate_rule("regression(general.*) <= 0.02 at 95%", "r");
  EXPECT_EQ(r.measure, GateRule::Measure::kRegression);
  ASSERT_TRUE(r.confidence);
  EXPECT_DOUBLE_EQ(*r.confidence, 0.95);
  EXPECT_EQ(r.text, "regression(general.*) <= 0.02 at 95%");
  r = parse_gate_rule("improvement(domain.acc) >= 0 at 99.5 %", "r");
  EXPECT_EQ(r.measure, GateRule::Measure::kImprovement);
  EXPECT_DOUBLE_EQ(*r.confidence, 0.995);
  EXPECT_FALSE(parse_gate_rule("improvement(domain.acc) >= 0", "r").confidence);
  auto err = [](const std::string& rule) {
    try {
      parse_gate_rule(rule, "g.yaml: rules[0]");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(err("domain.acc >= 0.5 at 95%").find("needs a comparison with the baseline"),
            std::string::npos);
  EXPECT_NE(err("delta(a) >= 0 at 100%").find("not in [50%, 100%)"), std::string::npos);
  EXPECT_NE(err("delta(a) >= 0 at 40%").find("not in [50%, 100%)"), std::string::npos);
  EXPECT_NE(err("delta(a) >= 0 at 95").find("not 'SELECTOR"), std::string::npos);
}

// With the same difference on every document each resample gives that
// difference, so the interval is exactly the point estimate.
TEST(GateTest, SignificanceWithAConstantDifferenceIsThePointEstimate) {
  const SuiteResult base = one_task("general.a", {0.5, 0.6, 0.7, 0.8});
  const SuiteResult cand = one_task("general.a", {0.49, 0.59, 0.69, 0.79});
  GateReport r =
      evaluate_gate({parse_gate_rule("regression(general.*) <= 0.02 at 95%", "r")}, cand, &base);
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_TRUE(r.passed()) << format_gate_report(r);
  EXPECT_NEAR(*r.checks[0].low, 0.01, 1e-12);
  EXPECT_NEAR(*r.checks[0].high, 0.01, 1e-12);
  EXPECT_NE(r.checks[0].why.find("upper end of the one-sided 95% interval"), std::string::npos)
      << r.checks[0].why;
  EXPECT_FALSE(
      evaluate_gate({parse_gate_rule("regression(general.*) <= 0.005 at 95%", "r")}, cand, &base)
          .passed());
  // Lower is better: bits per byte 0.1 higher is a regression of 0.1, an improvement of -0.1.
  const SuiteResult bpb_base = one_task("general.t", {2.0, 2.5}, false);
  const SuiteResult bpb_cand = one_task("general.t", {2.1, 2.6}, false);
  r = evaluate_gate({parse_gate_rule("improvement(general.t) >= -0.2 at 95%", "r"),
                     parse_gate_rule("regression(general.t) <= 0.05 at 95%", "r")},
                    bpb_cand, &bpb_base);
  EXPECT_NEAR(*r.checks[0].low, -0.1, 1e-12);
  EXPECT_TRUE(r.checks[0].passed);
  EXPECT_NEAR(*r.checks[1].high, 0.1, 1e-12);
  EXPECT_FALSE(r.checks[1].passed);
}

// 100 documents, the candidate loses 5 and gains 4: the point estimate of the
// regression is 0.01, which a point rule at 0.02 accepts; the per-document
// differences have standard deviation sqrt(0.09 - 0.0001) = 0.2998, so the
// one-sided 95% upper end is near 0.01 + 1.645 * 0.02998 = 0.059 (normal
// approximation; the percentile bootstrap lands within sampling error of it)
// and the significance rule refuses.
TEST(GateTest, SignificanceRefusesWhatThePointEstimateAccepts) {
  const auto [base, cand] = paired(100, 5, 4);
  const GateReport point =
      evaluate_gate({parse_gate_rule("regression(general.a) <= 0.02", "r")}, cand, &base);
  EXPECT_TRUE(point.passed());
  EXPECT_NEAR(point.checks[0].measured, 0.01, 1e-12);
  EXPECT_NE(point.checks[0].why.find("point estimate"), std::string::npos);
  const GateReport sig =
      evaluate_gate({parse_gate_rule("regression(general.a) <= 0.02 at 95%", "r"),
                     parse_gate_rule("improvement(general.a) >= 0 at 95%", "r")},
                    cand, &base);
  ASSERT_EQ(sig.checks.size(), 2u);
  EXPECT_FALSE(sig.checks[0].passed);
  EXPECT_NEAR(*sig.checks[0].high, 0.059, 0.015);
  EXPECT_NEAR(*sig.checks[0].low, 0.01 - 0.049, 0.015);
  EXPECT_NEAR(sig.checks[0].measured, 0.01, 1e-12);
  // improvement is the mirror image: its lower end is minus the regression's upper end.
  EXPECT_FALSE(sig.checks[1].passed);
  EXPECT_NEAR(*sig.checks[1].low, -*sig.checks[0].high, 1e-12);
  ASSERT_EQ(sig.failed_rules.size(), 2u);
  EXPECT_NE(sig.failed_rules[0].find("upper end of the one-sided 95% interval"), std::string::npos)
      << sig.failed_rules[0];
  const nlohmann::json j = gate_report_json(sig);
  EXPECT_EQ(j["checks"][0]["interval"].size(), 2u);
  EXPECT_FALSE(j["checks"][0]["why"].get<std::string>().empty());
  // 30 more right answers out of 100 is an improvement beyond doubt
  // (0.3 - 1.645 * 0.046 = 0.22 > 0).
  const auto [base2, cand2] = paired(100, 0, 30);
  const GateReport better =
      evaluate_gate({parse_gate_rule("improvement(general.a) >= 0 at 95%", "r")}, cand2, &base2);
  EXPECT_TRUE(better.passed()) << format_gate_report(better);
  EXPECT_NEAR(*better.checks[0].low, 0.22, 0.03);
}

TEST(GateTest, RuleSelectingNoMetricIsAnInputErrorListingValidNames) {
  const std::vector<TaskMetricNames> names = {{"domain", {"acc", "acc_norm"}},
                                              {"general.a", {"exact_match"}}};
  check_gate_selectors({parse_gate_rule("domain.acc >= 0.5", "r"),
                        parse_gate_rule("regression(general.*) <= 0.02 at 95%", "r"),
                        parse_gate_rule("domain >= 0.1", "r")},
                       names, "gate.yaml");
  try {
    check_gate_selectors(
        {parse_gate_rule("domain.acc >= 0.5", "r"), parse_gate_rule("domain.accuracy >= 0.5", "r")},
        names, "gate.yaml");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("gate.yaml: rules[1]: 'domain.accuracy' selects no task "
                                         "metric of this suite (valid: domain.acc, "
                                         "domain.acc_norm, general.a.exact_match)"),
              std::string::npos)
        << e.what();
  }
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
