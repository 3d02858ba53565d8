// eval run / compare / gate end to end on tiny models in a real workspace:
// results recorded as runs against the registered model version.
#include "eval/evaluate.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/eval_testing.h"
#include "store/registry.h"
#include "store/run_query.h"

namespace enclave::eval {
namespace {

using store::testing::ScratchDir;
using store::testing::write_text;

class EvaluateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::init_workspace(dir_.path());
    store::Workspace ws(dir_.path());
    store::register_version(
        ws,
        {.kind = store::RegistryKind::kModel, .name = "tiny", .source = testing::tiny_model_dir()});
    init_model("tiny", dir_ / "other", 6);
    store::register_version(
        ws, {.kind = store::RegistryKind::kModel, .name = "tiny", .source = dir_ / "other"});
  }
  EvalCommon common(const std::string& suite) {
    EvalCommon c;
    c.suite = suite;
    c.harness.limit = 8;
    c.harness.workspace.workspace = dir_.path().string();
    c.record.command = {"enclave", "eval", "test"};
    return c;
  }
  ScratchDir dir_;
};

TEST_F(EvaluateTest, RunIsRecordedAgainstTheModelVersion) {
  EvalRunOutcome out = run_eval({.model = "tiny@1", .common = common("general.sequence_en")});
  ASSERT_TRUE(out.run_id);
  ASSERT_EQ(out.result.tasks.size(), 1u);
  store::Workspace ws(dir_.path());
  nlohmann::json run = store::show_run(ws.db(), *out.run_id);
  EXPECT_EQ(run["kind"], "eval");
  EXPECT_EQ(run["status"], "finished");
  const std::string dump = run.dump();
  EXPECT_NE(dump.find("general.sequence_en/acc"), std::string::npos) << dump;
  EXPECT_NE(dump.find("general.sequence_en/acc_stderr"), std::string::npos);
  EXPECT_NE(dump.find("suite/score"), std::string::npos);
  EXPECT_NE(dump.find("tiny@1"), std::string::npos);
  EXPECT_NE(dump.find("results"), std::string::npos);
  EXPECT_DOUBLE_EQ(run["metrics"]["general.sequence_en/acc"]["last"].get<double>(),
                   aggregate(out.result.tasks[0].metrics[0]));

  EvalCommon off = common("general.sequence_en");
  off.no_record = true;
  EXPECT_FALSE(run_eval({.model = "tiny@1", .common = off}).run_id);
  // A plain directory is evaluated too; recorded by path.
  EvalRunOutcome by_dir = run_eval(
      {.model = testing::tiny_model_dir().string(), .common = common("general.compare_en")});
  ASSERT_TRUE(by_dir.run_id);
  EXPECT_NE(store::show_run(ws.db(), *by_dir.run_id).dump().find("model_path"), std::string::npos);
}

TEST_F(EvaluateTest, SameModelComparesAsNoDifference) {
  CompareOptions o{
      .model_a = "tiny@1", .model_b = "tiny@1", .common = common("general.compare_en")};
  Comparison c = run_compare(o);
  for (const CompareRow& r : c.rows) {
    EXPECT_EQ(r.interval.delta, 0.0);
    EXPECT_EQ(r.verdict, Verdict::kNoSignificantDifference);
  }
  o.model_b = "tiny@2";
  Comparison other = run_compare(o);
  EXPECT_EQ(other.rows.size(), c.rows.size());
  o.bootstrap.confidence = 2;
  EXPECT_THROW(run_compare(o), Error);
}

TEST_F(EvaluateTest, GatePassesAndFailsAndIsRecorded) {
  write_text(dir_ / "pass.yaml",
             "rules:\n  - 'general.compare_en.acc >= 0'\n  - 'regression(general.*) <= 0.0'\n");
  write_text(dir_ / "fail.yaml", "rules:\n  - 'general.compare_en.acc > 1'\n");
  GateOutcome pass = run_gate({.model = "tiny@1",
                               .baseline = "tiny@1",
                               .rules = dir_ / "pass.yaml",
                               .common = common("general.compare_en")});
  EXPECT_TRUE(pass.report.passed()) << format_gate_report(pass.report);
  ASSERT_TRUE(pass.run_id);
  GateOutcome fail = run_gate(
      {.model = "tiny@1", .rules = dir_ / "fail.yaml", .common = common("general.compare_en")});
  EXPECT_FALSE(fail.report.passed());
  store::Workspace ws(dir_.path());
  nlohmann::json run = store::show_run(ws.db(), *fail.run_id);
  EXPECT_EQ(run["kind"], "gate");
  EXPECT_EQ(run["metrics"]["gate/passed"]["last"].get<double>(), 0.0);
  EXPECT_EQ(store::show_run(ws.db(), *pass.run_id)["metrics"]["gate/passed"]["last"].get<double>(),
            1.0);
  // A regression rule without a baseline is refused before any model runs.
  EXPECT_THROW(
      run_gate(
          {.model = "tiny@1", .rules = dir_ / "pass.yaml", .common = common("general.compare_en")}),
      Error);
  write_text(dir_ / "bad.yaml", "rules:\n  - 'acc >>= 1'\n");
  EXPECT_THROW(
      run_gate(
          {.model = "tiny@1", .rules = dir_ / "bad.yaml", .common = common("general.compare_en")}),
      Error);
}

// The gate reuses the recorded per-document results of an `eval run` of the
// same version, suite and settings (the same figures, no new evaluation); a
// different setting or version is evaluated afresh. A rule selecting no
// metric is refused before either.
TEST_F(EvaluateTest, GateReusesRecordedEvalRunsAndRefusesTyposFirst) {
  write_text(dir_ / "gate.yaml",
             "rules:\n  - 'general.compare_en.acc >= 0'\n"
             "  - 'regression(general.compare_en.acc) <= 1 at 95%'\n");
  const EvalRunOutcome run = run_eval({.model = "tiny@1", .common = common("general.compare_en")});
  ASSERT_TRUE(run.run_id);
  GateOutcome gate = run_gate({.model = "tiny@1",
                               .baseline = "tiny@2",
                               .rules = dir_ / "gate.yaml",
                               .common = common("general.compare_en")});
  EXPECT_EQ(gate.candidate_reused_from, run.run_id);
  EXPECT_FALSE(gate.baseline_reused_from);  // tiny@2 was never run alone
  EXPECT_TRUE(gate.report.passed()) << format_gate_report(gate.report);
  ASSERT_EQ(gate.candidate.tasks.size(), run.result.tasks.size());
  EXPECT_EQ(gate.candidate.tasks[0].metrics[0].values, run.result.tasks[0].metrics[0].values);
  EXPECT_NE(format_gate_outcome(gate).find("results of eval run"), std::string::npos);
  write_text(dir_ / "plain.yaml", "rules:\n  - 'general.compare_en.acc >= 0'\n");
  EvalCommon other = common("general.compare_en");
  other.harness.limit = 4;
  EXPECT_FALSE(run_gate({.model = "tiny@1", .rules = dir_ / "plain.yaml", .common = other})
                   .candidate_reused_from);

  write_text(dir_ / "typo.yaml", "rules:\n  - 'general.compare_en.accuracy >= 0'\n");
  try {
    run_gate({.model = "missing-model@9",  // never loaded: the rule is checked first
              .rules = dir_ / "typo.yaml",
              .common = common("general.compare_en")});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("valid: general.compare_en.acc"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace enclave::eval
