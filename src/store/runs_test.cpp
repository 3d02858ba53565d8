#include "store/runs.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>

#include "core/error.h"
#include "core/program.h"
#include "store/clock.h"
#include "store/run_query.h"
#include "store/store_testing.h"

namespace enclave::store {
namespace {

using testing::ScratchDir;

class RunsTest : public ::testing::Test {
 protected:
  RunsTest() { init_workspace(dir_.path()); }

  std::string status_of(std::int64_t id) {
    Workspace ws(dir_.path());  // opening is what marks dead runs
    Statement q(ws.db(), "SELECT status FROM runs WHERE id = ?1");
    q.bind(1, id);
    EXPECT_TRUE(q.step());
    return q.text(0);
  }

  std::int64_t count(const std::string& sql) {
    Workspace ws(dir_.path());
    Statement q(ws.db(), sql);
    q.step();
    return q.int64(0);
  }

  ScratchDir dir_;
};

// Every run names its program the way main() set it: version and build id
// as two fields (never "0.1.0 (build X)" in one), and this process's argv
// unless the caller records another command.
TEST_F(RunsTest, RecordsProgramVersionAndBuildIdSplitFromTheProcessIdentity) {
  set_program_identity({"enclave", "data", "run", "recipe.yaml"}, "0.1.0", "1a2b3c4d5e6f");
  std::int64_t own = 0;
  std::int64_t other = 0;
  {
    store::Run run(dir_.path(), {.kind = "data"});
    own = run.id();
    run.finish();
    store::Run exec(dir_.path(), {.kind = "exec", .command = {"sh", "-c", "true"}});
    other = exec.id();
    exec.finish();
  }
  set_program_identity({}, "", "");
  Workspace ws(dir_.path());
  nlohmann::json r = show_run(ws.db(), own, /*series=*/false);
  EXPECT_EQ(r["program_version"], "0.1.0");
  EXPECT_EQ(r["build_id"], "1a2b3c4d5e6f");
  EXPECT_EQ(r["command"], nlohmann::json({"enclave", "data", "run", "recipe.yaml"}));
  nlohmann::json e = show_run(ws.db(), other, /*series=*/false);
  EXPECT_EQ(e["program_version"], "0.1.0");
  EXPECT_EQ(e["build_id"], "1a2b3c4d5e6f");
  EXPECT_EQ(e["command"], nlohmann::json({"sh", "-c", "true"}));
}

TEST_F(RunsTest, RecordsEverythingAboutARun) {
  testing::write_text(dir_ / "data.jsonl", "{\"text\": \"a\"}\n");
  testing::write_model_dir(dir_ / "out");
  std::int64_t id = 0;
  {
    store::Run run(dir_.path(), {.kind = "train",
                                 .name = "sft",
                                 .command = {"enclave", "train", "--lr", "3e-4"},
                                 .params = {{"lr", 3e-4}},
                                 .seed = 42});
    id = run.id();
    run.log_params({{"epochs", 3}, {"optim", {{"beta1", 0.9}}}});
    run.log_input(dir_ / "data.jsonl", "train_data");
    for (int step = 0; step < 10; ++step) run.log_metric("loss", 10.0 - step, step);
    run.log_metric("loss/nan", std::nan(""), 0);
    run.log_output(dir_ / "out", "model");
    run.log_text("step 9 loss 1.0\n");
    run.finish();
  }
  Workspace ws(dir_.path());
  nlohmann::json r = show_run(ws.db(), id, /*series=*/true);
  EXPECT_EQ(r["status"], "finished");
  EXPECT_EQ(r["kind"], "train");
  EXPECT_EQ(r["seed"], 42);
  EXPECT_EQ(r["params"]["lr"], 3e-4);
  EXPECT_EQ(r["params"]["epochs"], 3);
  EXPECT_EQ(r["command"][3], "3e-4");
  EXPECT_EQ(r["metrics"]["loss"]["n"], 10);
  EXPECT_EQ(r["metrics"]["loss"]["last"], 1.0);
  EXPECT_EQ(r["metrics"]["loss"]["min"], 1.0);
  EXPECT_EQ(r["metrics"]["loss"]["series"].size(), 10u);
  EXPECT_TRUE(r["metrics"]["loss/nan"]["last"].is_null());
  ASSERT_EQ(r["inputs"].size(), 1u);
  EXPECT_EQ(r["inputs"][0]["role"], "train_data");
  ASSERT_EQ(r["outputs"].size(), 1u);
  EXPECT_FALSE(r["ended_at"].is_null());
  EXPECT_EQ(testing::read_text(ws.dot_dir() / r["log_path"].get<std::string>()),
            "step 9 loss 1.0\n");
  std::string text = format_run(r);
  EXPECT_NE(text.find("optim.beta1 = 0.9"), std::string::npos) << text;
}

TEST_F(RunsTest, RejectsBadInput) {
  EXPECT_THROW(store::Run(dir_.path(), {.kind = "a/b"}), Error);
  EXPECT_THROW(store::Run(dir_.path(), {.kind = "train", .params = nlohmann::json::array()}),
               Error);
  store::Run run(dir_.path(), {.kind = "train"});
  EXPECT_THROW(run.log_metric("", 1.0, 0), Error);
  EXPECT_THROW(run.log_metric("bad\nkey", 1.0, 0), Error);
  EXPECT_THROW(run.log_params(nlohmann::json(3)), Error);
  EXPECT_THROW(run.log_input_artifact("sha256:" + std::string(64, 'a')), Error);
  EXPECT_THROW(run.log_input(dir_ / "missing"), Error);
  EXPECT_THROW(run.log_input(dir_ / "missing", "../role"), Error);
  run.finish(RunStatus::kKilled, "interrupted");
  EXPECT_EQ(status_of(run.id()), "killed");
}

TEST_F(RunsTest, RunDroppedWithoutFinishIsFailed) {
  std::int64_t id = 0;
  {
    store::Run run(dir_.path(), {.kind = "eval"});
    id = run.id();
    run.log_metric("acc", 0.5, 1);
  }
  EXPECT_EQ(status_of(id), "failed");
  EXPECT_EQ(count("SELECT COUNT(*) FROM metrics"), 1);  // buffered points were flushed
}

TEST_F(RunsTest, MetricsAreDurableAfterFlushAndBatchedBefore) {
  store::Run run(dir_.path(), {.kind = "train",
                               .metric_flush_interval = std::chrono::hours(1),
                               .metric_flush_points = 1000});
  for (int i = 0; i < 999; ++i) run.log_metric("loss", i, i);
  EXPECT_EQ(count("SELECT COUNT(*) FROM metrics"), 0);
  run.log_metric("loss", 999, 999);
  EXPECT_EQ(count("SELECT COUNT(*) FROM metrics"), 1000);
  run.log_metric("loss", 1000, 1000);
  run.flush();
  EXPECT_EQ(count("SELECT COUNT(*) FROM metrics"), 1001);
  run.finish();
}

// The child writes its run id into the pipe after logging, then waits to die.
pid_t start_doomed_run(const std::filesystem::path& root, int fds[2]) {
  EXPECT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    try {
      store::Run run(root, {.kind = "train", .name = "doomed"});
      run.log_metric("loss", 1.0, 0);
      run.flush();
      std::int64_t id = run.id();
      if (::write(fds[1], &id, sizeof id) != sizeof id) ::_exit(3);
      ::pause();
    } catch (...) {
    }
    ::_exit(2);
  }
  ::close(fds[1]);
  return pid;
}

TEST_F(RunsTest, KilledRunIsMarkedFailedOnNextOpen) {
  int fds[2];
  pid_t pid = start_doomed_run(dir_.path(), fds);
  std::int64_t id = 0;
  ASSERT_EQ(::read(fds[0], &id, sizeof id), static_cast<ssize_t>(sizeof id));
  ::close(fds[0]);
  EXPECT_EQ(status_of(id), "running");  // alive: left alone
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_EQ(status_of(id), "failed");
  Workspace ws(dir_.path());
  nlohmann::json r = show_run(ws.db(), id);
  EXPECT_NE(r["message"].get<std::string>().find("died"), std::string::npos) << r["message"];
  EXPECT_EQ(r["metrics"]["loss"]["n"], 1);  // what was flushed survives
}

TEST_F(RunsTest, KilledButUnreapedProcessCountsAsDead) {
  int fds[2];
  pid_t pid = start_doomed_run(dir_.path(), fds);
  std::int64_t id = 0;
  ASSERT_EQ(::read(fds[0], &id, sizeof id), static_cast<ssize_t>(sizeof id));
  ::close(fds[0]);
  ::kill(pid, SIGKILL);
  ::usleep(200 * 1000);  // now a zombie: killed, not yet waited for
  EXPECT_EQ(status_of(id), "failed");
  ::waitpid(pid, nullptr, 0);
}

TEST_F(RunsTest, RunFromAnotherHostFailsOnlyWhenItsHeartbeatIsStale) {
  Workspace ws(dir_.path());
  double now = now_unix();
  for (auto [name, heartbeat] :
       {std::pair<const char*, double>{"fresh", now}, {"stale", now - 3600}}) {
    Statement insert(ws.db(),
                     "INSERT INTO runs (kind, name, status, host, pid, started_at, heartbeat_at)"
                     " VALUES ('train', ?1, 'running', 'some-other-host', 1, ?2, ?3)");
    insert.bind(1, name).bind(2, heartbeat).bind(3, heartbeat).run();
  }
  std::vector<std::int64_t> failed = fail_dead_runs(ws.db(), std::chrono::seconds(300));
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(status_of(failed[0]), "failed");
  Statement fresh(ws.db(), "SELECT status FROM runs WHERE name = 'fresh'");
  fresh.step();
  EXPECT_EQ(fresh.text(0), "running");
}

TEST_F(RunsTest, HeartbeatKeepsALongRunFresh) {
  store::Run run(dir_.path(), {.kind = "train",
                               .heartbeat_interval = std::chrono::milliseconds(50),
                               .metric_flush_interval = std::chrono::milliseconds(50)});
  Workspace ws(dir_.path());
  auto heartbeat = [&] {
    Statement q(ws.db(), "SELECT heartbeat_at FROM runs WHERE id = ?1");
    q.bind(1, run.id());
    q.step();
    return q.real(0);
  };
  double first = heartbeat();
  run.log_metric("loss", 1.0, 0);  // not due yet: only the background thread can flush it
  ::usleep(400 * 1000);
  EXPECT_GT(heartbeat(), first);
  Statement q(ws.db(), "SELECT COUNT(*) FROM metrics");
  q.step();
  EXPECT_EQ(q.int64(0), 1);
  run.finish();
}

TEST_F(RunsTest, TwoProcessesLoggingAtOnceLoseNothing) {
  constexpr int kRuns = 8;
  constexpr int kPoints = 500;
  std::vector<pid_t> children;
  for (int c = 0; c < 2; ++c) {
    pid_t pid = ::fork();
    if (pid == 0) {
      int rc = 0;
      try {
        for (int r = 0; r < kRuns; ++r) {
          store::Run run(dir_.path(), {.kind = "train",
                                       .name = fmt::format("child{}-{}", c, r),
                                       .metric_flush_points = 37});
          for (int i = 0; i < kPoints; ++i) run.log_metric(i % 2 ? "loss" : "acc", i, i);
          run.log_params({{"child", c}});
          run.finish();
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child %d: %s\n", c, e.what());
        rc = 1;
      }
      ::_exit(rc);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE status = 'finished'"), 2 * kRuns);
  EXPECT_EQ(count("SELECT COUNT(*) FROM metrics"), 2 * kRuns * kPoints);
  EXPECT_EQ(count("SELECT COUNT(DISTINCT run_id || key || step) FROM metrics"),
            2 * kRuns * kPoints);
}

TEST_F(RunsTest, ListAndCompare) {
  std::vector<std::int64_t> ids;
  for (double lr : {1e-4, 3e-4}) {
    store::Run run(dir_.path(), {.kind = "train", .params = {{"lr", lr}, {"epochs", 3}}});
    run.log_metric("loss", lr * 1000, 10);
    run.finish();
    ids.push_back(run.id());
  }
  Workspace ws(dir_.path());
  nlohmann::json list = list_runs(ws.db());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["id"], ids[1]);  // newest first
  EXPECT_EQ(list_runs(ws.db(), {.status = "failed"}).size(), 0u);
  nlohmann::json c = compare_runs(ws.db(), ids);
  ASSERT_EQ(c["params"].size(), 2u);
  EXPECT_EQ(c["params"][0]["key"], "epochs");
  EXPECT_FALSE(c["params"][0]["differs"]);
  EXPECT_EQ(c["params"][1]["key"], "lr");
  EXPECT_TRUE(c["params"][1]["differs"]);
  EXPECT_TRUE(c["metrics"][0]["differs"]);
  std::string text = format_compare(c);
  EXPECT_NE(text.find("* lr"), std::string::npos) << text;
  EXPECT_THROW(compare_runs(ws.db(), {ids[0]}), Error);
  EXPECT_THROW(compare_runs(ws.db(), {ids[0], 999}), Error);
  EXPECT_THROW(parse_run_id("12x"), Error);
  EXPECT_EQ(parse_run_id("run:12"), 12);
}

}  // namespace
}  // namespace enclave::store
