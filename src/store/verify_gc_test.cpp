#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>

#include "core/error.h"
#include "store/artifacts.h"
#include "store/audit.h"
#include "store/gc.h"
#include "store/registry.h"
#include "store/runs.h"
#include "store/store_testing.h"
#include "store/verify.h"

namespace enclave::store {
namespace {

using testing::ScratchDir;

class VerifyGcTest : public ::testing::Test {
 protected:
  VerifyGcTest() {
    init_workspace(dir_ / "ws");
    ws_ = std::make_unique<Workspace>(dir_ / "ws");
    testing::write_model_dir(dir_ / "m");
  }
  ScratchDir dir_;
  std::unique_ptr<Workspace> ws_;
};

TEST_F(VerifyGcTest, CleanStoreVerifies) {
  register_version(*ws_, {.name = "m", .source = dir_ / "m"});
  checkout_artifact(*ws_, resolve_version(ws_->db(), RegistryKind::kModel, "m").artifact);
  VerifyReport r = verify_store(*ws_);
  EXPECT_TRUE(r.ok()) << format_verify_report(r);
  EXPECT_EQ(r.n_objects, 5);
  EXPECT_EQ(r.n_artifacts, 1);
}

TEST_F(VerifyGcTest, FlippedByteIsCaughtQuarantinedAndStaysReported) {
  VersionInfo v = register_version(*ws_, {.name = "m", .source = dir_ / "m"});
  std::optional<Artifact> a = find_artifact(ws_->db(), v.artifact);
  const ArtifactFile& weights = a->files[1];
  ASSERT_EQ(weights.path, "model.safetensors");
  testing::flip_byte(ws_->objects().path_of(weights.object), 10);
  VerifyReport r = verify_store(*ws_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.problems[0].kind, "corrupt-object");
  EXPECT_EQ(r.problems[0].target, weights.object);
  // Quarantined, so the artifact now misses a blob and verify keeps failing.
  VerifyReport again = verify_store(*ws_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.problems[0].kind, "missing-object");
  EXPECT_THROW(version_path(*ws_, RegistryKind::kModel, "m"), Error);
  // Registering the good files again repairs it.
  register_version(*ws_, {.name = "m", .source = dir_ / "m"});
  EXPECT_TRUE(verify_store(*ws_).ok());
}

TEST_F(VerifyGcTest, GcRemovesOnlyWhatNothingRefersTo) {
  register_version(*ws_, {.name = "m", .source = dir_ / "m"});
  testing::write_model_dir(dir_ / "orphan", "orphan");
  {
    StoreLock lock(*ws_, StoreLock::Mode::kShared);
    stage_artifact(*ws_, dir_ / "orphan");  // blobs written, never recorded: a crash before commit
  }
  testing::write_text(ws_->tmp_dir() / "obj-123-dead", "partial");
  std::size_t before = ws_->objects().list().objects.size();
  GcReport dry = collect_garbage(*ws_, {.dry_run = true});
  EXPECT_EQ(ws_->objects().list().objects.size(), before);
  GcReport r = collect_garbage(*ws_);
  EXPECT_EQ(r.n_objects, dry.n_objects);
  EXPECT_EQ(r.n_objects, 4);  // 3 distinct files (one is shared: tokenizer.json) + manifest
  EXPECT_EQ(r.n_temp, 1);
  EXPECT_TRUE(std::filesystem::is_empty(ws_->tmp_dir()));
  EXPECT_TRUE(verify_store(*ws_).ok());
  EXPECT_NO_THROW(version_path(*ws_, RegistryKind::kModel, "m"));
  EXPECT_EQ(list_audit(ws_->db(), {.action = "gc"}).size(), 1u);
}

TEST_F(VerifyGcTest, GcWaitsForWritersInFlight) {
  StoreLock writer(*ws_, StoreLock::Mode::kShared);
  Workspace other(ws_->root());
  // gc in this process must not slip in while the writer holds the lock.
  EXPECT_THROW(
      { StoreLock gc_lock(other, StoreLock::Mode::kExclusive, std::chrono::milliseconds(50)); },
      Error);
}

// SIGKILL at random moments while a model is being registered: every time,
// the store verifies clean, the model is either fully there or absent, and
// gc then removes what the killed writer left.
TEST_F(VerifyGcTest, KillDuringStoreLeavesStoreConsistent) {
  for (int i = 0; i < 20; ++i) {
    testing::write_text(dir_ / "big" / fmt::format("shard-{:03}.bin", i),
                        std::string(256 * 1024, static_cast<char>('a' + i)));
  }
  testing::write_text(dir_ / "big/round.txt", "first");
  // Time one registration so the kills spread over the whole of one.
  auto start = std::chrono::steady_clock::now();
  register_version(*ws_, {.name = "big", .source = dir_ / "big"});
  int span_us = static_cast<int>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::steady_clock::now() - start)
                                     .count());
  std::mt19937 rng(1234);
  int completed = 0;
  constexpr int kRounds = 16;
  for (int round = 0; round < kRounds; ++round) {
    testing::write_text(dir_ / "big/round.txt", std::to_string(round));
    pid_t pid = ::fork();
    if (pid == 0) {
      try {
        Workspace ws(dir_ / "ws");
        register_version(ws, {.name = "big", .source = dir_ / "big"});
      } catch (...) {
        ::_exit(1);
      }
      ::_exit(0);
    }
    // Fork and opening the workspace come first; aim past them, through the commit.
    ::usleep(std::uniform_int_distribution<int>(0, span_us * 3 / 2)(rng));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ++completed;

    Workspace ws(dir_ / "ws");
    VerifyReport r = verify_store(ws);
    ASSERT_TRUE(r.ok()) << "round " << round << ": " << format_verify_report(r);
    Statement dangling(ws.db(),
                       "SELECT COUNT(*) FROM artifact_files f WHERE NOT EXISTS"
                       " (SELECT 1 FROM artifacts a WHERE a.digest = f.artifact)");
    dangling.step();
    EXPECT_EQ(dangling.int64(0), 0);
    // The newest version, whichever round made it, is complete.
    std::filesystem::path p = version_path(ws, RegistryKind::kModel, "big");
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(p), {}), 21);
  }
  Workspace ws(dir_ / "ws");
  collect_garbage(ws);
  EXPECT_TRUE(std::filesystem::is_empty(ws.tmp_dir()));
  VerifyReport r = verify_store(ws);
  EXPECT_TRUE(r.ok()) << format_verify_report(r);
  EXPECT_EQ(r.n_temp_files, 0);
  std::printf("kill rounds: %d of %d registrations completed before the kill (span %d us)\n",
              completed, kRounds, span_us);
}

TEST_F(VerifyGcTest, GcReclaimsADeletedVersionsContentAndKeepsItsRow) {
  testing::write_model_dir(dir_ / "other", "other");
  VersionInfo v = register_version(*ws_, {.name = "m", .source = dir_ / "m"});
  register_version(*ws_, {.name = "m", .source = dir_ / "other"});
  std::filesystem::path checkout = version_path(*ws_, RegistryKind::kModel, "m@1");
  std::size_t objects_before = ws_->objects().list().objects.size();
  delete_version(*ws_, RegistryKind::kModel, "m@1");
  GcReport r = collect_garbage(*ws_);
  EXPECT_EQ(r.n_artifacts, 1);
  EXPECT_EQ(r.n_checkouts, 1);
  // tokenizer.json is the same in both folders, so m@2 keeps that blob.
  EXPECT_EQ(r.n_objects, 4);
  EXPECT_EQ(ws_->objects().list().objects.size(), objects_before - 4);
  EXPECT_FALSE(std::filesystem::exists(checkout));
  std::optional<Artifact> a = find_artifact(ws_->db(), v.artifact);
  ASSERT_TRUE(a.has_value());  // the deleted version still names it
  EXPECT_TRUE(a->purged);
  EXPECT_TRUE(a->files.empty());
  EXPECT_THROW(checkout_artifact(*ws_, v.artifact), Error);
  VerifyReport clean = verify_store(*ws_);
  EXPECT_TRUE(clean.ok()) << format_verify_report(clean);
  EXPECT_EQ(collect_garbage(*ws_).n_artifacts, 0);  // nothing more to do
  EXPECT_EQ(testing::read_text(version_path(*ws_, RegistryKind::kModel, "m") / "config.json"),
            testing::read_text(dir_ / "other/config.json"));
  // Registering the same content again restores the artifact.
  VersionInfo again = register_version(*ws_, {.name = "m", .source = dir_ / "m"});
  EXPECT_EQ(again.version, 3);
  EXPECT_EQ(again.artifact, v.artifact);
  EXPECT_FALSE(find_artifact(ws_->db(), v.artifact)->purged);
  EXPECT_EQ(testing::read_text(version_path(*ws_, RegistryKind::kModel, "m@3") / "config.json"),
            testing::read_text(dir_ / "m/config.json"));
  EXPECT_TRUE(verify_store(*ws_).ok());
  EXPECT_TRUE(verify_audit(ws_->db()).ok());
}

TEST_F(VerifyGcTest, GcKeepsDeletedContentThatAVersionOrARunStillUses) {
  VersionInfo a = register_version(*ws_, {.name = "a", .source = dir_ / "m"});
  register_version(*ws_, {.name = "b", .source = dir_ / "m"});
  testing::write_text(dir_ / "data.jsonl", "{\"text\": \"x\"}\n");
  VersionInfo d = register_version(
      *ws_, {.kind = RegistryKind::kDataset, .name = "d", .source = dir_ / "data.jsonl"});
  {
    store::Run run(ws_->root(), {.kind = "data"});
    run.log_output(dir_ / "data.jsonl");
    run.finish();
  }
  std::size_t objects_before = ws_->objects().list().objects.size();
  delete_version(*ws_, RegistryKind::kModel, "a@1");
  delete_version(*ws_, RegistryKind::kDataset, "d@1");
  GcReport r = collect_garbage(*ws_);
  EXPECT_EQ(r.n_artifacts, 0);
  EXPECT_EQ(r.n_objects, 0);
  EXPECT_EQ(ws_->objects().list().objects.size(), objects_before);
  EXPECT_FALSE(find_artifact(ws_->db(), a.artifact)->purged);
  EXPECT_FALSE(find_artifact(ws_->db(), d.artifact)->purged);
  EXPECT_NO_THROW(version_path(*ws_, RegistryKind::kModel, "b@1"));
}

}  // namespace
}  // namespace enclave::store
