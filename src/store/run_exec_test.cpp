#include "store/run_exec.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "store/registry.h"
#include "store/run_query.h"
#include "store/store_testing.h"

namespace enclave::store {
namespace {

using testing::ScratchDir;

class RunExecTest : public ::testing::Test {
 protected:
  RunExecTest() { init_workspace(dir_.path()); }

  ExecOptions options(std::vector<std::string> argv) {
    ExecOptions o;
    o.workspace_root = dir_.path();
    o.run.name = "script";
    o.argv = std::move(argv);
    return o;
  }

  nlohmann::json show(std::int64_t id) {
    Workspace ws(dir_.path());
    return show_run(ws.db(), id);
  }

  std::int64_t n_runs() {
    Workspace ws(dir_.path());
    Statement q(ws.db(), "SELECT COUNT(*) FROM runs");
    q.step();
    return q.int64(0);
  }

  ScratchDir dir_;
};

TEST_F(RunExecTest, SuccessfulCommandRecordsInputsOutputsAndLog) {
  testing::write_text(dir_ / "data.txt", "input data\n");
  testing::write_model_dir(dir_ / "base");
  VersionInfo base;
  {
    Workspace ws(dir_.path());
    base = register_version(
        ws, {.kind = RegistryKind::kModel, .name = "base", .source = dir_ / "base"});
  }
  std::filesystem::path out = dir_ / "out";
  ExecOptions o = options({"sh", "-c",
                           "echo to-stdout; echo to-stderr >&2; mkdir -p \"$0\" && "
                           "echo \"$ENCLAVE_RUN_ID $ENCLAVE_HOME\" > \"$0/env.txt\"",
                           out.string()});
  o.inputs = {dir_ / "data.txt"};
  o.input_models = {"base"};
  o.outputs = {out};
  o.run.params = {{"lr", 0.1}};
  std::int64_t started = 0;
  o.on_started = [&started](std::int64_t id) { started = id; };
  ExecResult result = exec_run(o);
  EXPECT_EQ(result.status, RunStatus::kFinished);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(started, result.run_id);
  ASSERT_EQ(result.outputs.size(), 1u);
  EXPECT_EQ(testing::read_text(out / "env.txt"),
            fmt::format("{} {}\n", result.run_id, dir_.path().string()));

  nlohmann::json r = show(result.run_id);
  EXPECT_EQ(r["status"], "finished");
  EXPECT_EQ(r["kind"], "exec");
  EXPECT_EQ(r["command"][0], "sh");
  EXPECT_EQ(r["params"]["lr"], 0.1);
  ASSERT_EQ(r["inputs"].size(), 2u);
  EXPECT_EQ(r["inputs"][0]["version"]["name"], "base");
  EXPECT_EQ(r["inputs"][1]["kind"], "file");
  ASSERT_EQ(r["outputs"].size(), 1u);
  EXPECT_EQ(r["outputs"][0]["artifact"], result.outputs[0].digest);
  std::string log = testing::read_text(dir_.path() / ".enclave" / r["log_path"].get<std::string>());
  EXPECT_NE(log.find("to-stdout"), std::string::npos) << log;
  EXPECT_NE(log.find("to-stderr"), std::string::npos) << log;
}

TEST_F(RunExecTest, NonZeroExitFailsTheRunAndSkipsOutputs) {
  ExecOptions o = options({"sh", "-c", "mkdir -p \"$0\"; exit 3", (dir_ / "out").string()});
  o.outputs = {dir_ / "out"};
  ExecResult result = exec_run(o);
  EXPECT_EQ(result.status, RunStatus::kFailed);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_TRUE(result.outputs.empty());
  nlohmann::json r = show(result.run_id);
  EXPECT_EQ(r["status"], "failed");
  EXPECT_NE(r["message"].get<std::string>().find("exited with code 3"), std::string::npos)
      << r["message"];
  EXPECT_TRUE(r["outputs"].empty());
}

TEST_F(RunExecTest, CommandKilledBySignalIsMarkedKilled) {
  ExecResult result = exec_run(options({"sh", "-c", "kill -KILL $$"}));
  EXPECT_EQ(result.status, RunStatus::kKilled);
  EXPECT_EQ(result.exit_code, 128 + 9);
  nlohmann::json r = show(result.run_id);
  EXPECT_EQ(r["status"], "killed");
  EXPECT_NE(r["message"].get<std::string>().find("SIGKILL"), std::string::npos) << r["message"];
}

TEST_F(RunExecTest, MissingProgramOrOutputFailsTheRunWithAClearError) {
  try {
    exec_run(options({"enclave-no-such-program-xyz"}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("enclave-no-such-program-xyz"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(show(1)["status"], "failed");

  ExecOptions o = options({"true"});
  o.outputs = {dir_ / "never-made"};
  try {
    exec_run(o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("never-made"), std::string::npos) << e.what();
  }
  EXPECT_EQ(show(2)["status"], "failed");
}

TEST_F(RunExecTest, BadArgumentsRecordNoRun) {
  EXPECT_THROW(exec_run(options({})), Error);
  ExecOptions missing_input = options({"true"});
  missing_input.inputs = {dir_ / "nope"};
  EXPECT_THROW(exec_run(missing_input), Error);
  ExecOptions unknown_model = options({"true"});
  unknown_model.input_models = {"nobody@1"};
  EXPECT_THROW(exec_run(unknown_model), Error);
  ExecOptions bad_ref = options({"true"});
  bad_ref.input_datasets = {"../etc"};
  EXPECT_THROW(exec_run(bad_ref), Error);
  EXPECT_EQ(n_runs(), 0);
}

TEST_F(RunExecTest, LogToRunAddsMetricsWithNextStepsAndMergesParams) {
  store::Run run(dir_.path(),
                 {.kind = "exec", .params = {{"lr", 0.1}, {"optim", {{"beta1", 0.9}}}}});
  Workspace ws(dir_.path());
  RunUpdate first;
  first.metrics = {{"loss", 3.0, std::nullopt}, {"loss", 2.0, std::nullopt}, {"acc", 0.5, 10}};
  first.params = {{"optim", {{"beta2", 0.99}}}, {"epochs", 2}};
  std::vector<MetricPoint> points = log_to_run(ws.db(), run.id(), first);
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[0].step, 0);
  EXPECT_EQ(points[1].step, 1);
  EXPECT_EQ(points[2].step, 10);
  RunUpdate second;
  second.metrics = {{"loss", 1.0, std::nullopt}, {"acc", 0.7, std::nullopt}};
  points = log_to_run(ws.db(), run.id(), second);
  EXPECT_EQ(points[0].step, 2);
  EXPECT_EQ(points[1].step, 11);
  run.log_params({{"lr", 0.2}});  // the owner's params and the outside ones both survive
  run.finish();

  nlohmann::json r = show_run(ws.db(), run.id());
  EXPECT_EQ(r["params"]["lr"], 0.2);
  EXPECT_EQ(r["params"]["epochs"], 2);
  EXPECT_EQ(r["params"]["optim"]["beta1"], 0.9);
  EXPECT_EQ(r["params"]["optim"]["beta2"], 0.99);
  EXPECT_EQ(r["metrics"]["loss"]["n"], 3);
  EXPECT_EQ(r["metrics"]["loss"]["last"], 1.0);
  EXPECT_EQ(r["metrics"]["acc"]["last"], 0.7);

  EXPECT_THROW(log_to_run(ws.db(), run.id(), second), Error);  // finished
  try {
    log_to_run(ws.db(), 999, second);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
  RunUpdate bad;
  bad.metrics = {{std::string("lo\nss"), 1.0, std::nullopt}};
  EXPECT_THROW(log_to_run(ws.db(), run.id(), bad), Error);
}

}  // namespace
}  // namespace enclave::store
