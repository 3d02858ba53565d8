#include "core/hash.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/error.h"
#include "core/file.h"
#include "core/scratch_dir_testing.h"

namespace enclave {
namespace {

namespace fs = std::filesystem;

// FIPS 180-2 test vectors.
constexpr const char* kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr const char* kMillionA =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

class HashTest : public ::testing::Test {
 protected:
  testing::ScratchDir dir_{"hash"};
};

TEST_F(HashTest, MatchesStandardVectors) {
  EXPECT_EQ(sha256_hex(std::string_view()), kEmpty);
  EXPECT_EQ(sha256_hex("abc"), kAbc);
  const std::string abc = "abc";
  EXPECT_EQ(sha256_hex(std::span<const std::uint8_t>(
                reinterpret_cast<const std::uint8_t*>(abc.data()), abc.size())),
            kAbc);
  EXPECT_EQ(sha256_hex(std::string(1'000'000, 'a')), kMillionA);
}

TEST_F(HashTest, StreamingEqualsOneShot) {
  Sha256 h;
  for (int i = 0; i < 1000; ++i) h.update(std::string(1000, 'a'));
  h.update(nullptr, 0);
  EXPECT_EQ(h.finish_hex(), kMillionA);
  // Finishing twice is a programmer error, not a silent wrong digest.
  try {
    h.finish_hex();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInternal);
  }
}

TEST_F(HashTest, HashesFilesAcrossReadChunks) {
  write_file_atomic(dir_ / "a", std::string(1'000'000, 'a'));
  EXPECT_EQ(sha256_file_hex(dir_ / "a"), kMillionA);
  write_file_atomic(dir_ / "empty", "");
  EXPECT_EQ(sha256_file_hex(dir_ / "empty"), kEmpty);
  // Larger than the 1 MiB read buffer, not a multiple of it.
  std::string big;
  for (int i = 0; i < 3'000'005; ++i) big.push_back(static_cast<char>(i * 31 + i / 7));
  write_file_atomic(dir_ / "big", big);
  EXPECT_EQ(sha256_file_hex(dir_ / "big"), sha256_hex(big));
}

TEST_F(HashTest, FileErrorsNameThePath) {
  try {
    sha256_file_hex(dir_ / "missing");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_EQ(std::string(e.what()).rfind((dir_ / "missing").string() + ": cannot open", 0), 0u)
        << e.what();
  }
  try {
    sha256_file_hex(dir_.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_EQ(std::string(e.what()), dir_.path().string() + ": not a regular file");
  }
}

}  // namespace
}  // namespace enclave
