#include "core/file.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "core/scratch_dir_testing.h"

namespace enclave {
namespace {

namespace fs = std::filesystem;

TEST(FileTest, AtomicWriteThenRead) {
  const testing::ScratchDir dir("file");
  write_file_atomic(dir / "a.txt", "hello");
  EXPECT_EQ(read_file(dir / "a.txt"), "hello");
  write_file_atomic(dir / "a.txt", "again");
  EXPECT_EQ(read_file(dir / "a.txt"), "again");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(FileTest, UncommittedAtomicFileLeavesNothing) {
  const testing::ScratchDir dir("file");
  {
    AtomicFile f(dir / "b.bin");
    f.write("partial");
  }
  EXPECT_FALSE(fs::exists(dir / "b.bin"));
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(FileTest, MissingFileIsNotFound) {
  try {
    read_file("/nonexistent/enclave/x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/enclave/x"), std::string::npos);
  }
}

TEST(FileTest, ReadRespectsLimit) {
  const testing::ScratchDir dir("file");
  write_file_atomic(dir / "c", std::string(100, 'x'));
  EXPECT_THROW(read_file(dir / "c", 10), Error);
}

TEST(FileTest, MappedFileSeesContents) {
  const testing::ScratchDir dir("file");
  write_file_atomic(dir / "m", "abc");
  MappedFile m(dir / "m");
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m.bytes()[1], 'b');
  write_file_atomic(dir / "e", "");
  MappedFile e(dir / "e");
  EXPECT_EQ(e.size(), 0u);
}

}  // namespace
}  // namespace enclave
