#include "core/file.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"

namespace enclave {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir() {
  fs::path dir =
      fs::temp_directory_path() /
      ("enclave_file_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
       "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(FileTest, AtomicWriteThenRead) {
  auto dir = temp_dir();
  write_file_atomic(dir / "a.txt", "hello");
  EXPECT_EQ(read_file(dir / "a.txt"), "hello");
  write_file_atomic(dir / "a.txt", "again");
  EXPECT_EQ(read_file(dir / "a.txt"), "again");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(FileTest, UncommittedAtomicFileLeavesNothing) {
  auto dir = temp_dir();
  {
    AtomicFile f(dir / "b.bin");
    f.write("partial");
  }
  EXPECT_FALSE(fs::exists(dir / "b.bin"));
  EXPECT_TRUE(fs::is_empty(dir));
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
  auto dir = temp_dir();
  write_file_atomic(dir / "c", std::string(100, 'x'));
  EXPECT_THROW(read_file(dir / "c", 10), Error);
}

TEST(FileTest, MappedFileSeesContents) {
  auto dir = temp_dir();
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
