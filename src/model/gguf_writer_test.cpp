#include "model/gguf_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/file.h"
#include "core/scratch_dir_testing.h"
#include "model/float_convert.h"
#include "model/gguf_reader.h"

namespace enclave {
namespace {

// ggml's dequantisers, written out: x = d * q (Q8_0), x = d * (q - 8) (Q4_0).
std::vector<float> decode(GgmlType type, const std::vector<std::uint8_t>& bytes, std::size_t n) {
  std::vector<float> out;
  const std::uint8_t* p = bytes.data();
  for (std::size_t b = 0; b < n / 32; ++b) {
    std::uint16_t bits;
    std::memcpy(&bits, p, 2);
    const float d = f16_to_f32(bits);
    p += 2;
    if (type == GgmlType::kQ8_0) {
      for (int i = 0; i < 32; ++i)
        out.push_back(d * static_cast<float>(static_cast<std::int8_t>(*p++)));
    } else {
      std::vector<float> block(32);
      for (int i = 0; i < 16; ++i, ++p) {
        block[i] = d * static_cast<float>((*p & 0x0F) - 8);
        block[i + 16] = d * static_cast<float>((*p >> 4) - 8);
      }
      out.insert(out.end(), block.begin(), block.end());
    }
  }
  return out;
}

TEST(GgufWriterTest, QuantisedBlocksDecodeWithinHalfAStep) {
  std::vector<float> x(96);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * i) * (1 + i % 7);
  x[40] = 0;  // a block's extreme may be negative or positive
  for (GgmlType type : {GgmlType::kQ8_0, GgmlType::kQ4_0}) {
    std::vector<std::uint8_t> bytes;
    ggml_encode(type, x, bytes);
    ASSERT_EQ(bytes.size(), ggml_nbytes(type, x.size()));
    std::vector<float> back = decode(type, bytes, x.size());
    for (std::size_t b = 0; b < x.size(); b += 32) {
      float amax = 0;
      for (std::size_t i = b; i < b + 32; ++i) amax = std::max(amax, std::fabs(x[i]));
      const float step = amax / (type == GgmlType::kQ8_0 ? 127.0f : 8.0f);
      for (std::size_t i = b; i < b + 32; ++i)
        EXPECT_LE(std::fabs(back[i] - x[i]), 0.5f * step + 1e-3f * amax)
            << ggml_type_name(type) << " " << i;
    }
  }
}

// One Q4_K and one Q6_K block packed here by the published layout
// (gguf_kquants.h) decode to d * sc * q - dmin * m and d * sc * (q - 32).
TEST(GgufWriterTest, KQuantBlocksDecodeByThePublishedLayout) {
  std::vector<std::uint8_t> q4(144, 0);
  const std::uint16_t one = f32_to_f16(1.0f), half = f32_to_f16(0.5f);
  std::memcpy(q4.data(), &one, 2);
  std::memcpy(q4.data() + 2, &half, 2);
  const int sc[8] = {1, 2, 3, 4, 17, 33, 50, 63}, mn[8] = {0, 5, 9, 13, 20, 40, 61, 7};
  for (int j = 0; j < 4; ++j) {
    q4[4 + j] = static_cast<std::uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
    q4[8 + j] = static_cast<std::uint8_t>(mn[j] | ((mn[j + 4] >> 4) << 6));
    q4[12 + j] = static_cast<std::uint8_t>((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
  }
  auto code4 = [](int i) { return (i * 7 + 3) % 16; };
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l)
      q4[16 + 32 * c + l] =
          static_cast<std::uint8_t>(code4(64 * c + l) | (code4(64 * c + l + 32) << 4));
  std::vector<float> out(256);
  ggml_decode(GgmlType::kQ4_K, q4, out);
  for (int i = 0; i < 256; ++i)
    ASSERT_FLOAT_EQ(out[i], 1.0f * sc[i / 32] * code4(i) - 0.5f * mn[i / 32]) << i;

  std::vector<std::uint8_t> q6(210, 0);
  const std::uint16_t quarter = f32_to_f16(0.25f);
  std::memcpy(q6.data() + 208, &quarter, 2);
  for (int j = 0; j < 16; ++j)
    q6[192 + j] = static_cast<std::uint8_t>(static_cast<std::int8_t>(j * 9 - 70));
  auto code6 = [](int i) { return (i * 11 + 5) % 64; };
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; ++l) {
      const int b = 128 * h + l;
      q6[64 * h + l] = static_cast<std::uint8_t>((code6(b) & 15) | ((code6(b + 64) & 15) << 4));
      q6[64 * h + l + 32] =
          static_cast<std::uint8_t>((code6(b + 32) & 15) | ((code6(b + 96) & 15) << 4));
      q6[128 + 32 * h + l] =
          static_cast<std::uint8_t>((code6(b) >> 4) | ((code6(b + 32) >> 4) << 2) |
                                    ((code6(b + 64) >> 4) << 4) | ((code6(b + 96) >> 4) << 6));
    }
  }
  ggml_decode(GgmlType::kQ6_K, q6, out);
  for (int i = 0; i < 256; ++i)
    ASSERT_FLOAT_EQ(out[i], 0.25f * static_cast<float>(i / 16 * 9 - 70) * (code6(i) - 32)) << i;
}

// Encoding then decoding stays within a step of each sub-block's grid
// (Q4_K: (max - min) / 15 plus the 6-bit rounding of scale and min against
// the block's largest; Q6_K: amax / 31 plus the 8-bit scale rounding).
TEST(GgufWriterTest, KQuantBlocksRoundTripWithinAStep) {
  std::vector<float> x(512);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * i) * (1 + i % 7) + 0.3f;
  for (GgmlType type : {GgmlType::kQ4_K, GgmlType::kQ6_K}) {
    std::vector<std::uint8_t> bytes;
    ggml_encode(type, x, bytes);
    ASSERT_EQ(bytes.size(), ggml_nbytes(type, x.size()));
    std::vector<float> back(x.size());
    ggml_decode(type, bytes, back);
    const std::size_t sub = type == GgmlType::kQ4_K ? 32 : 16;
    double worst = 0;
    for (std::size_t b = 0; b < x.size(); b += 256) {
      float block_amax = 0;
      for (std::size_t i = b; i < b + 256; ++i) block_amax = std::max(block_amax, std::fabs(x[i]));
      for (std::size_t s = b; s < b + 256; s += sub) {
        float lo = 0, hi = 0, amax = 0;
        for (std::size_t i = s; i < s + sub; ++i) {
          lo = std::min(lo, x[i]);
          hi = std::max(hi, x[i]);
          amax = std::max(amax, std::fabs(x[i]));
        }
        const float step = type == GgmlType::kQ4_K ? (hi - lo) / 15 + block_amax / 63
                                                   : amax / 31 + block_amax / 127;
        for (std::size_t i = s; i < s + sub; ++i) {
          worst = std::max(worst, static_cast<double>(std::fabs(back[i] - x[i])));
          ASSERT_LE(std::fabs(back[i] - x[i]), step) << ggml_type_name(type) << " " << i;
        }
      }
    }
    std::printf("%s round trip: maxdiff %.4f\n", ggml_type_name(type).data(), worst);
  }
}

TEST(GgufWriterTest, HeaderMetadataAndAlignedTensors) {
  testing::ScratchDir dir("gguf-writer");
  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_u32("llama.block_count", 2);
  w.add_strings("tokenizer.ggml.tokens", {"a", "bc"});
  w.add_tensor("x", GgmlType::kF32, {2, 3}, [](auto& out) {
    ggml_encode(GgmlType::kF32, std::vector<float>{1, 2, 3, 4, 5, 6}, out);
  });
  w.add_tensor("y", GgmlType::kF16, {5}, [](auto& out) {
    ggml_encode(GgmlType::kF16, std::vector<float>{1, 2, 3, 4, 5}, out);
  });
  const auto path = dir.path() / "m.gguf";
  w.write(path);
  const std::string data = read_file(path);
  ASSERT_GE(data.size(), 24u);
  EXPECT_EQ(data.substr(0, 4), "GGUF");
  std::uint32_t version;
  std::uint64_t n_tensors, n_kv;
  std::memcpy(&version, data.data() + 4, 4);
  std::memcpy(&n_tensors, data.data() + 8, 8);
  std::memcpy(&n_kv, data.data() + 16, 8);
  EXPECT_EQ(version, 3u);
  EXPECT_EQ(n_tensors, 2u);
  EXPECT_EQ(n_kv, 3u);
  // The data section starts aligned; x is first, its dims written innermost first.
  const std::size_t x_info = data.find(std::string("\x01\0\0\0\0\0\0\0x", 9));
  ASSERT_NE(x_info, std::string::npos);
  std::uint32_t n_dims;
  std::uint64_t ne0, ne1;
  std::memcpy(&n_dims, data.data() + x_info + 9, 4);
  std::memcpy(&ne0, data.data() + x_info + 13, 8);
  std::memcpy(&ne1, data.data() + x_info + 21, 8);
  EXPECT_EQ(n_dims, 2u);
  EXPECT_EQ(ne0, 3u);
  EXPECT_EQ(ne1, 2u);
  const std::size_t data_start = data.size() - 32 - 32;  // x: 24 bytes + pad, y: 10 + pad
  EXPECT_EQ(data_start % 32, 0u);
  float first;
  std::memcpy(&first, data.data() + data_start, 4);
  EXPECT_EQ(first, 1.0f);
}

TEST(GgufWriterTest, AFillOfTheWrongSizeLeavesNoFile) {
  testing::ScratchDir dir("gguf-writer-bad");
  GgufWriter w;
  w.add_tensor("x", GgmlType::kF32, {4}, [](auto& out) { out.resize(3); });
  EXPECT_THROW(w.write(dir.path() / "m.gguf"), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "m.gguf"));
}

}  // namespace
}  // namespace enclave
