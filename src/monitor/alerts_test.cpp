#include "monitor/alerts.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/file.h"
#include "core/scratch_dir_testing.h"
#include "monitor/request_log.h"
#include "store/clock.h"
#include "store/workspace.h"

namespace enclave::monitor {
namespace {

class AlertsTest : public ::testing::Test {
 protected:
  void SetUp() override { store::init_workspace(root_); }

  std::filesystem::path rules(const std::string& text) {
    const auto path = root_ / "alerts.yaml";
    write_file_atomic(path, text);
    return path;
  }

  std::string load_error(const std::string& text) {
    try {
      load_alert_rules(rules(text));
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
      return e.what();
    }
    ADD_FAILURE() << "no error for:\n" << text;
    return "";
  }

  // A request rated `rating`, created now.
  void rated(RequestLog& log, const std::string& id, double rating) {
    RequestRecord r;
    r.id = id;
    r.created_at = store::now_unix();
    r.endpoint = "completions";
    r.model = "tiny";
    r.model_version = "tiny@1";
    r.prompt = "q";
    r.completion = "a";
    r.finish_reason = "stop";
    log.record(r);
    log.flush();
    log.add_feedback({.request_id = id, .rating = rating});
  }

  const testing::ScratchDir scratch_{"monitor-alerts"};
  const std::filesystem::path root_ = scratch_.path();
};

TEST_F(AlertsTest, RulesParseInEveryForm) {
  const auto rs = load_alert_rules(rules(R"(alerts:
  - name: unhappy
    metric: feedback.negative_rate
    window: 24h
    above: 0.2
  - metric: serve.tokens_per_second
    window: 30m
    threshold: 5
    direction: below
    model: tiny
)"));
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].name, "unhappy");
  EXPECT_DOUBLE_EQ(rs[0].window_seconds, 86400);
  EXPECT_TRUE(rs[0].above);
  EXPECT_DOUBLE_EQ(rs[0].threshold, 0.2);
  EXPECT_EQ(rs[1].name, "serve.tokens_per_second");
  EXPECT_FALSE(rs[1].above);
  EXPECT_DOUBLE_EQ(rs[1].window_seconds, 1800);
  EXPECT_EQ(rs[1].model, "tiny");
}

TEST_F(AlertsTest, BadRulesNameFileFieldAndLine) {
  const std::string typo = load_error(R"(alerts:
  - name: a
    metric: serve.latency_p95
    window: 1h
    above: 2
  - name: b
    metric: latency_p95
    window: 1h
    above: 2
)");
  EXPECT_NE(typo.find("alerts.yaml: alerts[1].metric (line 7): unknown metric 'latency_p95'"),
            std::string::npos)
      << typo;
  EXPECT_NE(typo.find("serve.latency_p95"), std::string::npos) << typo;  // the valid names
  EXPECT_NE(load_error("alerts:\n  - metric: serve.requests\n    window: soon\n    above: 1\n")
                .find("alerts[0].window (line 3): window 'soon': expected a duration"),
            std::string::npos);
  EXPECT_NE(load_error("alerts:\n  - metric: serve.requests\n    window: 1h\n")
                .find("alerts[0] (line 2): give exactly one of above"),
            std::string::npos);
  EXPECT_NE(load_error("alerts:\n  - metric: serve.requests\n    window: 1h\n    above: x\n")
                .find("alerts[0].above (line 4): expected a number, got string"),
            std::string::npos);
  EXPECT_NE(load_error("alerts:\n  - metric: serve.requests\n    window: 1h\n    abov: 1\n")
                .find("alerts[0].abov (line 4): unknown key"),
            std::string::npos);
  EXPECT_NE(load_error("alerts:\n  - {metric: serve.requests, window: 1h, above: 1}\n"
                       "  - {metric: serve.requests, window: 2h, above: 1}\n")
                .find("alerts[1].name (line 3): rule name 'serve.requests' is used twice"),
            std::string::npos);
  EXPECT_NE(load_error("rules: []\n").find("alerts:"), std::string::npos);
  EXPECT_NE(load_error("alerts: {a: 1}\n").find("expected a list of rules"), std::string::npos);
  EXPECT_THROW(load_alert_rules(root_ / "missing.yaml"), Error);
}

TEST_F(AlertsTest, RuleRaisesOnceAndClears) {
  const AlertRule rule = load_alert_rules(rules(R"(alerts:
  - name: unhappy
    metric: feedback.negative_rate
    window: 1h
    above: 0.2
)"))[0];
  RequestLog log(root_, {});
  // No rating yet: nothing to measure, nothing recorded.
  AlertResult r = evaluate_alert(root_, rule);
  EXPECT_FALSE(r.value);
  EXPECT_FALSE(r.firing);
  EXPECT_EQ(r.event, "");

  rated(log, "r1", -1);  // negative rate 1.0
  r = evaluate_alert(root_, rule);
  EXPECT_DOUBLE_EQ(*r.value, 1.0);
  EXPECT_TRUE(r.firing);
  EXPECT_EQ(r.event, "raised");
  r = evaluate_alert(root_, rule);  // still breached: no second event
  EXPECT_TRUE(r.firing);
  EXPECT_EQ(r.event, "");

  for (int i = 2; i <= 5; ++i) rated(log, "r" + std::to_string(i), 1);  // 1 of 5 = 0.2
  r = evaluate_alert(root_, rule);
  EXPECT_DOUBLE_EQ(*r.value, 0.2);  // not above 0.2
  EXPECT_FALSE(r.firing);
  EXPECT_EQ(r.event, "cleared");

  const std::vector<AlertEvent> events = alert_events(root_, "unhappy");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event, "raised");
  EXPECT_EQ(events[1].event, "cleared");
  EXPECT_DOUBLE_EQ(*events[1].value, 0.2);
  EXPECT_TRUE(alert_events(root_, "other").empty());
}

TEST_F(AlertsTest, BelowRulesFireUnderTheThreshold) {
  AlertRule rule = parse_alert_rule(
      nlohmann::json{{"metric", "feedback.mean_rating"}, {"window", "1h"}, {"below", 0}},
      [](const std::string& field, const std::string& reason) {
        fail_input("{}: {}", field, reason);
      });
  RequestLog log(root_, {});
  rated(log, "r1", -0.5);
  const AlertResult r = evaluate_alert(root_, rule);
  EXPECT_TRUE(r.firing);
  EXPECT_EQ(r.event, "raised");
  EXPECT_EQ(alerts_json({r})[0]["state"], "firing");
}

TEST(ParseDuration, UnitsAndErrors) {
  EXPECT_DOUBLE_EQ(parse_duration("90s", "w"), 90);
  EXPECT_DOUBLE_EQ(parse_duration("1.5h", "w"), 5400);
  EXPECT_DOUBLE_EQ(parse_duration("7d", "w"), 7 * 86400);
  EXPECT_DOUBLE_EQ(parse_duration("12", "w"), 12);
  EXPECT_THROW(parse_duration("", "w"), Error);
  EXPECT_THROW(parse_duration("3w", "w"), Error);
  EXPECT_THROW(parse_duration("-1h", "w"), Error);
}

}  // namespace
}  // namespace enclave::monitor
