#include "monitor/report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file.h"
#include "core/scratch_dir_testing.h"
#include "monitor/drift.h"
#include "store/registry.h"
#include "store/run_query.h"
#include "store/runs.h"
#include "store/workspace.h"

namespace enclave::monitor {
namespace {

RequestRecord request(const std::string& id, double created_at, int status, double latency,
                      double ttft, const std::string& completion) {
  RequestRecord r;
  r.id = id;
  r.created_at = created_at;
  r.endpoint = "completions";
  r.model = "tiny";
  r.model_version = "tiny@1";
  r.prompt = "question " + id;
  r.completion = completion;
  r.completion_tokens = 10;
  r.latency_seconds = latency;
  r.ttft_seconds = ttft;
  r.status = status;
  r.finish_reason = status >= 400 ? "error" : "stop";
  return r;
}

TEST(Percentile, InterpolatesBetweenRanks) {
  EXPECT_DOUBLE_EQ(*percentile({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_NEAR(*percentile({4, 1, 3, 2}, 0.95), 3.85, 1e-12);
  EXPECT_NEAR(*percentile({4, 1, 3, 2}, 0.99), 3.97, 1e-12);
  EXPECT_DOUBLE_EQ(*percentile({7}, 0.99), 7);
  EXPECT_FALSE(percentile({}, 0.5));
}

TEST(Refusal, OpeningsAreRecognised) {
  EXPECT_TRUE(is_refusal("  I'm sorry, I can't help with that."));
  EXPECT_TRUE(is_refusal("AS AN AI model"));
  EXPECT_FALSE(is_refusal("The answer is 4. I cannot stress this enough."));
}

// Six requests with hand-computed figures: four answered (latency 1..4 s),
// one 500 and one 429; one empty and one refused answer; ratings -1 and 0.5
// and a correction without a rating.
TEST(MeasureWindow, SyntheticLogGivesKnownFigures) {
  std::vector<RequestRecord> records = {
      request("r1", 10, 200, 1, 0.1, ""),
      request("r2", 11, 200, 2, 0.2, "I'm sorry, I can't do that"),
      request("r3", 12, 200, 3, 0.3, "Paris"),
      request("r4", 13, 200, 4, 0.4, "42"),
      request("r5", 14, 500, 0, 0, ""),
      request("r6", 15, 429, 0, 0, ""),
      request("late", 20, 200, 9, 9, "outside the window"),
  };
  std::map<std::string, RequestFeedback> feedback = {
      {"r1", {true, -1.0}}, {"r2", {true, 0.5}}, {"r3", {true, std::nullopt}}};
  const WindowFigures w = measure_window(records, feedback, 10, 20, nullptr);
  EXPECT_EQ(w.requests, 6);
  EXPECT_EQ(w.errors_by_status, (std::map<int, std::int64_t>{{429, 1}, {500, 1}}));
  const auto& m = w.metrics;
  EXPECT_DOUBLE_EQ(m.at("serve.requests"), 6);
  EXPECT_DOUBLE_EQ(m.at("serve.error_rate"), 2.0 / 6);
  EXPECT_DOUBLE_EQ(m.at("serve.latency_p50"), 2.5);
  EXPECT_NEAR(m.at("serve.latency_p95"), 3.85, 1e-12);
  EXPECT_NEAR(m.at("serve.latency_p99"), 3.97, 1e-12);
  EXPECT_NEAR(m.at("serve.ttft_p50"), 0.25, 1e-12);
  EXPECT_DOUBLE_EQ(m.at("serve.tokens_per_second"), 40.0 / 10.0);
  EXPECT_DOUBLE_EQ(m.at("serve.empty_rate"), 0.25);
  EXPECT_DOUBLE_EQ(m.at("serve.refused_rate"), 0.25);
  EXPECT_DOUBLE_EQ(m.at("feedback.rate"), 0.5);
  EXPECT_DOUBLE_EQ(m.at("feedback.mean_rating"), -0.25);
  EXPECT_DOUBLE_EQ(m.at("feedback.negative_rate"), 0.5);
  EXPECT_FALSE(m.contains("drift.unigram_js"));
}

TEST(MeasureWindow, EmptyWindowHasOnlyTheCount) {
  const WindowFigures w = measure_window({}, {}, 0, 10, nullptr);
  EXPECT_EQ(w.metrics, (std::map<std::string, double>{{"serve.requests", 0}}));
}

TEST(Drift, WordsAreLetterAndNumberRuns) {
  EXPECT_EQ(words("Hello, WORLD! 안녕하세요 2024x\xff"),
            (std::vector<std::string>{"hello", "world", "안녕하세요", "2024x"}));
}

TEST(Drift, LengthBinsDoubleInWidth) {
  EXPECT_EQ(length_bin(0), 0u);
  EXPECT_EQ(length_bin(1), 1u);
  EXPECT_EQ(length_bin(2), 2u);
  EXPECT_EQ(length_bin(3), 2u);
  EXPECT_EQ(length_bin(4), 3u);
  EXPECT_EQ(length_bin(1023), 10u);
  EXPECT_EQ(length_bin(1024), 11u);
  EXPECT_EQ(length_bin(100000), 11u);
}

TEST(Drift, PsiMatchesHandComputedValues) {
  // (0.25-0.5) ln(0.5) + (0.75-0.5) ln(1.5)
  EXPECT_NEAR(psi({50, 50}, {25, 75}), 0.25 * std::log(2.0) + 0.25 * std::log(1.5), 1e-12);
  // An empty bin counts as 1e-4.
  EXPECT_NEAR(psi({100, 0}, {50, 50}), 0.5 * std::log(2.0) + 0.4999 * std::log(0.5 / 1e-4), 1e-12);
  EXPECT_DOUBLE_EQ(psi({1, 2}, {1, 2}), 0);
  EXPECT_DOUBLE_EQ(psi({0, 0}, {1, 2}), 0);
}

TEST(Drift, JensenShannonMatchesHandComputedValues) {
  EXPECT_NEAR(js_divergence({{"x", 1}}, {{"y", 3}}), 1.0, 1e-12);
  EXPECT_NEAR(js_divergence({{"x", 2}}, {{"x", 5}}), 0.0, 1e-12);
  // p = (.5, .5), q = (1, 0), m = (.75, .25)
  const double expected =
      0.5 * (0.5 * std::log2(0.5 / 0.75) + 0.5 * std::log2(2.0)) + 0.5 * std::log2(1 / 0.75);
  EXPECT_NEAR(js_divergence({{"x", 1}, {"y", 1}}, {{"x", 1}}), expected, 1e-12);
}

class MonitorReportTest : public ::testing::Test {
 protected:
  void SetUp() override { store::init_workspace(root_); }

  // Registers dataset sft@1 (a JSONL file) and model tiny@1 trained on it,
  // with tokenizer.json in the model folder when one is given.
  std::int64_t register_trained_model(const std::string& jsonl,
                                      const std::string& tokenizer_json = "") {
    store::Workspace ws(root_);
    write_file_atomic(root_ / "sft.jsonl", jsonl);
    const store::VersionInfo data = store::register_version(
        ws, {.kind = store::RegistryKind::kDataset, .name = "sft", .source = root_ / "sft.jsonl"});
    std::filesystem::create_directories(root_ / "model");
    write_file_atomic(root_ / "model" / "config.json", "{}");
    if (!tokenizer_json.empty())
      write_file_atomic(root_ / "model" / "tokenizer.json", tokenizer_json);
    store::Run train(root_, {.kind = "train", .name = "sft"});
    train.log_input_version(data.id, "train_data");
    train.finish();
    return store::register_version(ws, {.kind = store::RegistryKind::kModel,
                                        .name = "tiny",
                                        .source = root_ / "model",
                                        .from_run = train.id()})
        .id;
  }

  // One chat request per age (seconds before now) asking `question`.
  void log_chats(std::int64_t model_version_id, double now, const std::vector<double>& ages,
                 const std::string& question) {
    RequestLog log(root_, {.retention_days = 0});
    for (std::size_t i = 0; i < ages.size(); ++i) {
      RequestRecord r = request("r" + std::to_string(i), now - ages[i], 200, 1, 0.5, "ok");
      r.endpoint = "chat.completions";
      r.prompt = nlohmann::json::array({{{"role", "system"}, {"content", "be brief"}},
                                        {{"role", "user"}, {"content", question}}})
                     .dump();
      r.model_version_id = model_version_id;
      log.record(r);
    }
    log.flush();
  }

  const testing::ScratchDir scratch_{"monitor-report"};
  const std::filesystem::path root_ = scratch_.path();
};

// A model trained on "a b" prompts serves "a b c d" prompts: the drift
// figures against the dataset its training run read, computed by hand:
//   lengths: ref all in bin [2,4), live all in [4,8):
//     2 * (1 - 1e-4) * ln(1 / 1e-4)
//   unigrams: ref a .5, b .5, other 0; live a .25, b .25, other .5
//   JS: p = (.5, .5, 0, 0), q = (.25, .25, .25, .25)
TEST_F(MonitorReportTest, RecordsFiguresAndDriftOnAMonitorRun) {
  const std::int64_t model_version_id = register_trained_model(
      "{\"messages\":[{\"role\":\"user\",\"content\":\"a b\"},"
      "{\"role\":\"assistant\",\"content\":\"x y z w v\"}]}\n"
      "{\"prompt\":\"A, b\",\"completion\":\"q\"}\n");
  const double now = 1.0e9;
  log_chats(model_version_id, now, {1800, 1800, 5400}, "a b c d");
  const Report report =
      monitor_report(root_, {.since_seconds = 7200, .window_seconds = 3600, .now = now});
  EXPECT_EQ(report.drift_model, "tiny@1");
  EXPECT_EQ(report.drift_sources, (std::vector<std::string>{"sft@1"}));
  EXPECT_EQ(report.drift_unit, "words");
  ASSERT_EQ(report.windows.size(), 2u);
  EXPECT_EQ(report.windows[0].requests, 1);
  EXPECT_EQ(report.windows[1].requests, 2);
  const auto& m = report.windows[1].metrics;
  EXPECT_NEAR(m.at("drift.length_psi"), 2 * (1 - 1e-4) * std::log(1e4), 1e-9);
  EXPECT_NEAR(m.at("drift.unigram_psi"),
              2 * (0.25 - 0.5) * std::log(0.5) + (0.5 - 1e-4) * std::log(0.5 / 1e-4), 1e-9);
  EXPECT_NEAR(m.at("drift.unigram_js"),
              0.5 * std::log2(0.5 / 0.375) +
                  0.5 * (0.5 * std::log2(0.25 / 0.375) + 0.5 * std::log2(0.25 / 0.125)),
              1e-9);

  ASSERT_TRUE(report.run_id);
  store::Workspace ws(root_);
  const nlohmann::json run = store::show_run(ws.db(), *report.run_id);
  EXPECT_EQ(run["kind"], "monitor");
  EXPECT_EQ(run["metrics"]["serve.requests"]["last"], 2);
  EXPECT_EQ(run["metrics"]["serve.requests"]["n"], 2);
  EXPECT_DOUBLE_EQ(run["metrics"]["drift.unigram_js"]["last"].get<double>(),
                   m.at("drift.unigram_js"));

  // The same figures, as alerts read them, without a new run.
  const auto current = current_metrics(root_, 3600, "", now);
  EXPECT_DOUBLE_EQ(current.at("serve.requests"), 2);
  EXPECT_EQ(store::list_runs(ws.db(), {.kind = "monitor"}).size(), 1u);
}

// With a tokenizer in the model version, drift counts its tokens: "ab" is
// two tokens of a character-level vocabulary, the same two as "a b", so
// prompts that differ in words (length 1 against 2, unigram "ab" against
// "a", "b") do not drift for the model.
TEST_F(MonitorReportTest, DriftCountsTheModelsOwnTokens) {
  const std::string tokenizer = R"({
    "version": "1.0", "added_tokens": [], "normalizer": null, "post_processor": null,
    "decoder": null,
    "pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "Removed"},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []}})";
  const std::int64_t id = register_trained_model(
      "{\"prompt\":\"ab\",\"completion\":\"x\"}\n{\"prompt\":\"ab\",\"completion\":\"y\"}\n",
      tokenizer);
  const double now = 1.0e9;
  log_chats(id, now, {10, 20}, "a b");
  const Report report = monitor_report(root_, {.since_seconds = 3600, .now = now});
  EXPECT_EQ(report.drift_unit, "tokens");
  ASSERT_EQ(report.windows.size(), 1u);
  const auto& m = report.windows[0].metrics;
  EXPECT_NEAR(m.at("drift.length_psi"), 0.0, 1e-12);
  EXPECT_NEAR(m.at("drift.unigram_psi"), 0.0, 1e-12);
  EXPECT_NEAR(m.at("drift.unigram_js"), 0.0, 1e-12);
  EXPECT_EQ(report_json(report)["drift_unit"], "tokens");
}

TEST_F(MonitorReportTest, BadPeriodsAreInputErrors) {
  { RequestLog log(root_, {}); }
  EXPECT_THROW(monitor_report(root_, {.since_seconds = 0}), Error);
  EXPECT_THROW(monitor_report(root_, {.since_seconds = 86400 * 30, .window_seconds = 1}), Error);
}

}  // namespace
}  // namespace enclave::monitor
