#include "core/staging_dir.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"
#include "core/scratch_dir_testing.h"

namespace enclave {
namespace {
namespace fs = std::filesystem;

int count_entries(const fs::path& dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

// True if another open file description can take the folder's flock, which
// is how `store gc` tells an abandoned temp folder from a live one.
bool lock_is_free(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);
  return free;
}

TEST(StagingDir, CommitPublishesTheWholeFolder) {
  testing::ScratchDir dir("staging");
  const fs::path target = dir / "model";
  {
    StagingDir staged(target);
    EXPECT_EQ(staged.path().parent_path(), fs::absolute(dir.path()));
    EXPECT_TRUE(staged.path().filename().string().starts_with(".model.tmp-"));
    write_file_atomic(staged.path() / "config.json", "{}");
    fs::create_directories(staged.path() / "sub");
    write_file_atomic(staged.path() / "sub" / "x.bin", "x");
    EXPECT_FALSE(fs::exists(target));  // nothing visible before commit
    staged.commit();
  }
  EXPECT_EQ(read_file(target / "config.json"), "{}");
  EXPECT_EQ(read_file(target / "sub" / "x.bin"), "x");
  EXPECT_EQ(count_entries(dir.path()), 1);  // no staging folder left
}

TEST(StagingDir, DestroyedWithoutCommitLeavesNothing) {
  testing::ScratchDir dir("staging");
  {
    StagingDir staged(dir / "out");
    write_file_atomic(staged.path() / "half.bin", "half");
  }
  EXPECT_EQ(count_entries(dir.path()), 0);
}

TEST(StagingDir, ReplacesAnEmptyTargetAndRefusesAFullOne) {
  testing::ScratchDir dir("staging");
  fs::create_directories(dir / "empty");
  {
    StagingDir staged(dir / "empty/");  // a trailing slash names the same folder
    write_file_atomic(staged.path() / "a", "a");
    staged.commit();
  }
  EXPECT_EQ(read_file(dir / "empty" / "a"), "a");

  try {
    StagingDir staged(dir / "empty");
    FAIL() << "a non-empty target was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("not empty"), std::string::npos) << e.what();
  }
  dir.write("file", "x");
  EXPECT_THROW(StagingDir(dir / "file"), Error);

  // The target filled up while staging: commit refuses and the stage is removed.
  {
    StagingDir staged(dir / "late");
    dir.write("late/other", "x");
    EXPECT_THROW(staged.commit(), Error);
  }
  EXPECT_EQ(count_entries(dir / "late"), 1);
  EXPECT_EQ(count_entries(dir.path()), 3);  // empty/, file, late/
}

TEST(StagingDir, ScratchFolderIsLockedAndRemoved) {
  testing::ScratchDir dir("staging");
  fs::path path;
  {
    StagingDir scratch = StagingDir::scratch(dir / "tmp", "data");
    path = scratch.path();
    EXPECT_EQ(path.parent_path(), dir / "tmp");
    EXPECT_TRUE(path.filename().string().starts_with("data-"));
    EXPECT_FALSE(lock_is_free(path));
    write_file_atomic(path / "data.jsonl", "{}\n");
    EXPECT_THROW(scratch.commit(), Error);  // nothing to publish it as
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(count_entries(dir / "tmp"), 0);
}

TEST(StagingDir, TwoStagesOfOneTargetDoNotCollide) {
  testing::ScratchDir dir("staging");
  StagingDir a(dir / "m");
  StagingDir b(dir / "m");
  EXPECT_NE(a.path(), b.path());
  write_file_atomic(a.path() / "w", "a");
  write_file_atomic(b.path() / "w", "b");
  a.commit();
  EXPECT_THROW(b.commit(), Error);  // the first one in wins; the second never overwrites it
  EXPECT_EQ(read_file(dir / "m" / "w"), "a");
}

}  // namespace
}  // namespace enclave
