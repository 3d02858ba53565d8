#include "ui/api.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "core/scratch_dir_testing.h"
#include "monitor/request_log.h"
#include "store/audit.h"
#include "store/clock.h"
#include "store/registry.h"
#include "store/runs.h"
#include "store/workspace.h"

namespace enclave::ui {
namespace {

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::init_workspace(root_.path());
    for (int i = 0; i < 5; ++i) {
      store::Run run(root_.path(),
                     {.kind = i < 3 ? "train" : "eval", .name = fmt::format("r{}", i)});
      for (int step = 0; step < 4; ++step) run.log_metric("loss", 2.0 - 0.25 * step - i, step);
      run.finish();
    }
  }

  void log_requests() {
    monitor::RequestLog log(root_.path(), {});
    for (int i = 0; i < 3; ++i) {
      monitor::RequestRecord r;
      r.id = fmt::format("cmpl-{}", i);
      r.created_at = store::now_unix() - 60 + i;
      r.endpoint = "completions";
      r.model = "tiny";
      r.model_version = "tiny@1";
      r.prompt = fmt::format("question {}", i);
      r.completion = fmt::format("answer {}", i);
      r.latency_seconds = 0.1 * (i + 1);
      log.record(r);
    }
    log.flush();
    log.add_feedback({.request_id = "cmpl-0", .rating = -1.0, .correction = "better answer 0"});
    log.add_feedback({.request_id = "cmpl-1", .rating = 1.0});
    log.add_feedback({.request_id = "cmpl-2", .rating = -1.0});
  }

  testing::ScratchDir root_{"ui-api"};
  Api api_{root_.path()};
};

TEST_F(ApiTest, RunsPageWithCursorsAndFilters) {
  nlohmann::json page = api_.runs({{"limit", "2"}});
  ASSERT_EQ(page["items"].size(), 2u);
  EXPECT_EQ(page["items"][0]["name"], "r4");  // newest first
  ASSERT_TRUE(page["next_cursor"].is_string());
  nlohmann::json next = api_.runs({{"limit", "2"}, {"cursor", page["next_cursor"]}});
  EXPECT_EQ(next["items"][0]["name"], "r2");
  nlohmann::json last = api_.runs({{"limit", "2"}, {"cursor", "4"}});
  EXPECT_EQ(last["items"].size(), 1u);
  EXPECT_TRUE(last["next_cursor"].is_null());
  EXPECT_EQ(api_.runs({{"kind", "eval"}})["items"].size(), 2u);
  EXPECT_EQ(api_.runs({{"q", "R1"}})["items"].size(), 1u);
  EXPECT_EQ(api_.runs({{"since", "2000-01-01"}})["items"].size(), 5u);
  EXPECT_EQ(api_.runs({{"since", "2999-01-01T00:00+09:00"}})["items"].size(), 0u);
  EXPECT_THROW(api_.runs({{"since", "yesterday"}}), Error);
  EXPECT_THROW(api_.runs({{"limit", "0"}}), Error);
  EXPECT_THROW(api_.runs({{"limit", "x"}}), Error);
  EXPECT_THROW(api_.runs({{"cursor", "-3"}}), Error);
  EXPECT_THROW(api_.runs({{"status", "sleeping"}}), Error);
}

TEST_F(ApiTest, MetricSeriesAreTheLoggedValues) {
  const std::int64_t id = api_.runs({{"q", "r1"}})["items"][0]["id"];
  nlohmann::json m = api_.run_metrics(id, {});
  ASSERT_EQ(m["metrics"]["loss"].size(), 4u);
  EXPECT_DOUBLE_EQ(m["metrics"]["loss"][3][1].get<double>(), 2.0 - 0.75 - 1);
  EXPECT_EQ(api_.compare({{"ids", fmt::format("{},{}", id, id + 1)}})["runs"].size(), 2u);
  EXPECT_THROW(api_.compare({{"ids", "1"}}), Error);
  EXPECT_THROW(api_.run(999), Error);
}

TEST_F(ApiTest, ReviewedFeedbackDecidesTheExport) {
  EXPECT_TRUE(api_.serving({}).is_null());  // no request log yet
  log_requests();
  nlohmann::json pending = api_.feedback({{"status", "pending"}});
  ASSERT_EQ(pending["items"].size(), 3u);
  EXPECT_EQ(pending["items"][0]["request"]["id"], "cmpl-2");
  // Nothing approved yet: the approved-only export has nothing to write.
  EXPECT_THROW(api_.export_feedback({{"name", "fb"}}), Error);
  api_.review_feedback({{"request_id", "cmpl-0"},
                        {"decision", "approved"},
                        {"correction", "reviewed answer, mail me at kim@example.com"}},
                       "key:reviewer");
  api_.review_feedback({{"request_id", "cmpl-2"}, {"decision", "rejected"}}, "key:reviewer");
  EXPECT_THROW(api_.review_feedback({{"request_id", "nope"}, {"decision", "approved"}}, "x"),
               Error);
  EXPECT_THROW(api_.review_feedback({{"request_id", "cmpl-1"}, {"decision", "maybe"}}, "x"), Error);
  EXPECT_EQ(api_.feedback({{"status", "pending"}})["items"].size(), 1u);
  nlohmann::json approved = api_.feedback({{"status", "approved"}});
  ASSERT_EQ(approved["items"].size(), 1u);
  const std::string correction = approved["items"][0]["review"]["correction"];
  EXPECT_EQ(correction.find("kim@example.com"), std::string::npos) << correction;  // redacted
  nlohmann::json exported = api_.export_feedback({{"name", "fb"}});
  EXPECT_EQ(exported["dataset"], "fb@1");
  EXPECT_EQ(exported["n_sft"], 1);
  EXPECT_EQ(exported["n_requests"], 1);
  // The decisions are audited with the reviewer, and the chain verifies.
  nlohmann::json audit = api_.audit({{"action", "feedback-review"}});
  ASSERT_EQ(audit["items"].size(), 2u);
  EXPECT_EQ(audit["items"][0]["actor"], "key:reviewer");
  EXPECT_TRUE(audit["verification"]["ok"].get<bool>());
  // The report and the log read the same requests.
  nlohmann::json serving = api_.serving({{"since", "3600"}, {"windows", "4"}});
  EXPECT_EQ(serving["windows"].size(), 4u);
  EXPECT_EQ(api_.requests({{"q", "ANSWER 1"}})["items"].size(), 1u);
  EXPECT_EQ(api_.requests({{"limit", "2"}})["next_cursor"], "2");
}

TEST_F(ApiTest, LineageIsAGraphOfRunsAndVersions) {
  store::Workspace ws(root_.path());
  const std::filesystem::path data = root_.path() / "data.jsonl";
  { std::ofstream(data) << "{\"text\": \"one\"}\n{\"text\": \"two\"}\n"; }
  const store::VersionInfo d = store::register_version(
      ws, {.kind = store::RegistryKind::kDataset, .name = "docs", .source = data});
  std::int64_t train_id = 0;
  {
    store::Run run(root_.path(), {.kind = "train", .name = "sft"});
    run.log_input_version(d.id, "train_data");
    train_id = run.id();
    run.finish();
  }
  nlohmann::json g = api_.lineage({{"ref", "docs@1"}});
  EXPECT_EQ(g["root"], fmt::format("version:{}", d.id));
  ASSERT_EQ(g["edges"].size(), 1u);
  EXPECT_EQ(g["edges"][0]["from"], fmt::format("version:{}", d.id));
  EXPECT_EQ(g["edges"][0]["to"], fmt::format("run:{}", train_id));
  EXPECT_EQ(api_.runs({{"dataset", "docs"}})["items"].size(), 1u);
  nlohmann::json samples = api_.dataset_samples("docs", {{"limit", "1"}});
  ASSERT_EQ(samples["items"].size(), 1u);
  EXPECT_EQ(samples["items"][0]["record"]["text"], "one");
  EXPECT_EQ(samples["next_cursor"], "1");
  EXPECT_EQ(api_.datasets({})["items"][0]["name"], "docs");
  EXPECT_THROW(api_.lineage({}), Error);
}

TEST_F(ApiTest, ModelsShowEvaluationsWithIntervalsAndGateVerdicts) {
  store::Workspace ws(root_.path());
  const std::filesystem::path dir = root_.path() / "model";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "config.json") << "{}";
  const store::VersionInfo m = store::register_version(
      ws, {.kind = store::RegistryKind::kModel, .name = "chat", .source = dir});
  {
    store::Run eval(root_.path(), {.kind = "eval", .name = "suite"});
    eval.log_input_version(m.id, "model");
    eval.log_metric("qa/acc", 0.5, 0);
    eval.log_metric("qa/acc_stderr", 0.1, 0);
    eval.finish();
    store::Run gate(root_.path(), {.kind = "gate", .name = "gate"});
    gate.log_input_version(m.id, "model");
    gate.log_params({{"failed_rules", {"qa/acc >= 0.9"}}});
    gate.log_metric("gate/passed", 0.0, 0);
    gate.finish();
  }
  nlohmann::json shown = api_.model("chat");
  const nlohmann::json& evals = shown["versions"][0]["evaluations"];
  ASSERT_EQ(evals.size(), 2u) << evals.dump();
  EXPECT_EQ(evals[0]["kind"], "eval");
  ASSERT_EQ(evals[0]["metrics"].size(), 1u);  // the stderr is folded into the interval
  EXPECT_NEAR(evals[0]["metrics"][0]["ci95"][0].get<double>(), 0.5 - 0.196, 1e-12);
  EXPECT_NEAR(evals[0]["metrics"][0]["ci95"][1].get<double>(), 0.5 + 0.196, 1e-12);
  EXPECT_EQ(evals[1]["kind"], "gate");
  EXPECT_FALSE(evals[1]["gate_passed"].get<bool>());
  EXPECT_EQ(evals[1]["failed_rules"][0], "qa/acc >= 0.9");
  EXPECT_EQ(api_.models({})["items"][0]["name"], "chat");
  EXPECT_EQ(api_.runs({{"model", "chat"}})["items"].size(), 2u);
}

}  // namespace
}  // namespace enclave::ui
