// GgufFile against hostile files (RELIABILITY.md 10-18): each case is a
// clean Error naming the byte offset, never a crash or a huge allocation.
#include "model/gguf_reader.h"

#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "core/file.h"
#include "core/scratch_dir_testing.h"

namespace enclave {
namespace {

// A small valid file: three metadata keys, an F32 (2, 3) and a Q8_0 (32) tensor.
std::string valid_file(const std::filesystem::path& dir) {
  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_u32("llama.block_count", 2);
  w.add_strings("tokenizer.ggml.tokens", {"a", "b"});
  w.add_tensor("x", GgmlType::kF32, {2, 3}, [](auto& out) {
    ggml_encode(GgmlType::kF32, std::vector<float>{1, 2, 3, 4, 5, 6}, out);
  });
  w.add_tensor("q", GgmlType::kQ8_0, {32}, [](auto& out) {
    std::vector<float> v(32);
    for (int i = 0; i < 32; ++i) v[i] = 0.25f * (i - 16);
    ggml_encode(GgmlType::kQ8_0, v, out);
  });
  w.write(dir / "valid.gguf");
  return read_file(dir / "valid.gguf");
}

template <typename T>
void put(std::string& s, std::size_t at, T v) {
  std::memcpy(s.data() + at, &v, sizeof(T));
}

class GgufReaderTest : public ::testing::Test {
 protected:
  testing::ScratchDir dir_{"gguf-reader"};
  std::string good_ = valid_file(dir_.path());

  void expect_rejected(const std::string& bytes, const std::string& needle) {
    const auto path = dir_.path() / "bad.gguf";
    write_file_atomic(path, bytes);
    try {
      GgufFile f(path);
      ADD_FAILURE() << "accepted; expected an error with '" << needle << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("bad.gguf"), std::string::npos) << e.what();
    }
  }
  // Offset of the first byte after `what` in the good file.
  std::size_t after(std::string_view what) const { return good_.find(what) + what.size(); }
};

TEST_F(GgufReaderTest, ReadsWhatTheWriterWrote) {
  GgufFile f(dir_.path() / "valid.gguf");
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_uint("llama.block_count"), 2u);
  EXPECT_EQ(f.get_strings("tokenizer.ggml.tokens"), (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(f.tensors().size(), 2u);
  const GgufTensor* x = f.tensor("x");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->shape, (std::vector<std::uint64_t>{2, 3}));
  std::vector<float> v(6);
  ggml_decode(x->type, x->data, v);
  EXPECT_EQ(v, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  const GgufTensor* q = f.tensor("q");
  std::vector<float> qv(32);
  ggml_decode(q->type, q->data, qv);
  for (int i = 0; i < 32; ++i) EXPECT_NEAR(qv[i], 0.25f * (i - 16), 4.0f / 127);
}

TEST_F(GgufReaderTest, BadMagicAndVersions) {  // 10
  std::string s = good_;
  s[0] = 'X';
  expect_rejected(s, "magic");
  for (std::uint32_t v : {0u, 1u, 4u, 0x03000000u}) {
    s = good_;
    put(s, 4, v);
    expect_rejected(s, v == 0x03000000u ? "byte-swapped" : "version");
  }
}

TEST_F(GgufReaderTest, HugeCountsAreRejectedBeforeAllocating) {  // 11
  for (std::uint64_t n : {~std::uint64_t{0}, std::uint64_t{1} << 63}) {
    std::string s = good_;
    put(s, 8, n);
    expect_rejected(s, "tensor count");
    s = good_;
    put(s, 16, n);
    expect_rejected(s, "metadata count");
  }
}

TEST_F(GgufReaderTest, StringLengthsAndEmptyKeys) {  // 12
  std::string s = good_;
  put<std::uint64_t>(s, 24, ~std::uint64_t{0});  // the first key's length
  expect_rejected(s, "string length");
  s = good_;
  // An empty first key: length 0, then the old key bytes read as the type.
  s = good_.substr(0, 24);
  s += std::string(8, '\0');
  s += good_.substr(24 + 8 + std::string("general.architecture").size());
  expect_rejected(s, "empty metadata key");
}

TEST_F(GgufReaderTest, ArraysThatWrapOrNestOrHaveBadTypes) {       // 13
  const std::size_t type_at = after("tokenizer.ggml.tokens") + 4;  // after the value type (9)
  std::string s = good_;
  put<std::uint64_t>(s, type_at + 4, ~std::uint64_t{0} / 2);
  expect_rejected(s, "does not fit");
  s = good_;
  put<std::uint32_t>(s, type_at, 9);
  expect_rejected(s, "nested arrays");
  s = good_;
  put<std::uint32_t>(s, type_at, 77);
  expect_rejected(s, "unknown array element type");
}

TEST_F(GgufReaderTest, BadTensorTypesDimsAndShapes) {  // 14
  const std::size_t dims_at = good_.find(std::string("\x01\0\0\0\0\0\0\0x", 9)) + 9;
  std::string s = good_;
  put<std::uint32_t>(s, dims_at, 5);
  expect_rejected(s, "dims");
  s = good_;
  put<std::uint64_t>(s, dims_at + 4, 0);
  expect_rejected(s, "out of range");
  s = good_;
  put<std::uint64_t>(s, dims_at + 4, (std::uint64_t{1} << 42) + 1);
  expect_rejected(s, "out of range");
  s = good_;
  put<std::uint64_t>(s, dims_at + 4, (std::uint64_t{1} << 40));
  put<std::uint64_t>(s, dims_at + 12, (std::uint64_t{1} << 40));
  expect_rejected(s, "overflows");
  s = good_;
  put<std::uint32_t>(s, dims_at + 20, 99);  // ggml type
  expect_rejected(s, "ggml type");
}

TEST_F(GgufReaderTest, Alignment) {  // 15
  for (std::uint32_t a : {0u, 13u, 1u << 30}) {
    GgufWriter w;
    w.add_u32("general.alignment", a);
    w.write(dir_.path() / "a.gguf");
    expect_rejected(read_file(dir_.path() / "a.gguf"), "general.alignment");
  }
  GgufWriter w;
  w.add_i32("general.alignment", 32);
  w.write(dir_.path() / "a.gguf");
  expect_rejected(read_file(dir_.path() / "a.gguf"), "u32");
}

TEST_F(GgufReaderTest, OffsetsMustFollowTheRunningTotalAndStayInTheFile) {  // 16
  const std::size_t x_offset_at =
      good_.find(std::string("\x01\0\0\0\0\0\0\0x", 9)) + 9 + 4 + 16 + 4;
  std::string s = good_;
  put<std::uint64_t>(s, x_offset_at, 32);
  expect_rejected(s, "running total");
  s = good_.substr(0, good_.size() - 20);
  expect_rejected(s, "truncated");
}

TEST_F(GgufReaderTest, EveryTruncationIsACleanError) {  // 18
  for (std::size_t n = 0; n < good_.size(); ++n) {
    const auto path = dir_.path() / "cut.gguf";
    write_file_atomic(path, good_.substr(0, n));
    EXPECT_THROW(GgufFile{path}, Error) << "cut at " << n;
  }
}

}  // namespace
}  // namespace enclave
