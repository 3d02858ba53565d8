#include "model/float_convert.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/error.h"

namespace enclave {
namespace {

TEST(FloatConvert, Bf16KnownValuesAndRoundingToEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xC000);
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3F808000u)), 0x3F80);  // tie, keep even
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3F818000u)), 0x3F82);  // tie, round up to even
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3F808001u)), 0x3F81);  // above the tie
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
}

TEST(FloatConvert, F16KnownValues) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3C00);
  EXPECT_EQ(f32_to_f16(-1.5f), 0xBE00);
  EXPECT_EQ(f32_to_f16(0.1f), 0x2E66);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);  // rounds to infinity
  EXPECT_EQ(f32_to_f16(0x1p-24f), 0x0001);  // smallest subnormal
  EXPECT_EQ(f32_to_f16(0x1p-26f), 0x0000);  // below half of it
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f16_to_f32(0x0001), 0x1p-24f);
  EXPECT_EQ(f16_to_f32(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(FloatConvert, EveryHalfAndBf16PatternRoundTrips) {
  for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
    const auto h = static_cast<std::uint16_t>(bits);
    const float f = f16_to_f32(h);
    if (!std::isnan(f)) ASSERT_EQ(f32_to_f16(f), h) << std::hex << bits;
    const float b = bf16_to_f32(h);
    if (!std::isnan(b)) ASSERT_EQ(f32_to_bf16(b), h) << std::hex << bits;
  }
}

// Independent check of rounding: the chosen half is at least as close as
// its neighbours, and an exact tie picks the even one.
TEST(FloatConvert, F16RoundsToNearestEvenOnRandomFloats) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> exponent(-26.0, 16.0);
  int checked = 0;
  for (int i = 0; i < 200000; ++i) {
    const float x = static_cast<float>(std::exp2(exponent(rng)));
    const std::uint16_t h = f32_to_f16(x);
    const double got = f16_to_f32(h);
    if (std::isinf(got)) continue;
    for (int step : {-1, 1}) {
      const int n = static_cast<int>(h) + step;
      if (n < 0 || n >= 0x7C00) continue;
      const double other = f16_to_f32(static_cast<std::uint16_t>(n));
      const double d_got = std::fabs(got - x), d_other = std::fabs(other - x);
      ASSERT_LE(d_got, d_other) << x;
      if (d_got == d_other) ASSERT_EQ(h & 1, 0) << x;
    }
    ++checked;
  }
  EXPECT_GT(checked, 190000);
}

TEST(FloatConvert, BuffersConvertEveryDtypeIncludingUnaligned) {
  const std::vector<float> values = {0.5f, -1.25f, 3.0f, 1e-3f};
  for (DType dtype : {DType::kF32, DType::kF64, DType::kBF16, DType::kF16}) {
    std::vector<std::uint8_t> storage(values.size() * dtype_size(dtype) + 1);
    std::span<std::uint8_t> bytes(storage.data() + 1,
                                  storage.size() - 1);  // deliberately unaligned
    from_f32(values, dtype, bytes);
    std::vector<float> back(values.size());
    to_f32(dtype, bytes, back);
    for (std::size_t i = 0; i < values.size(); ++i) {
      const double tolerance = dtype == DType::kBF16 ? 1e-2 : (dtype == DType::kF16 ? 1e-3 : 0.0);
      EXPECT_NEAR(back[i], values[i], std::fabs(values[i]) * tolerance)
          << dtype_safetensors_name(dtype);
    }
  }
}

TEST(FloatConvert, RejectsNonFloatAndWrongSize) {
  std::vector<std::uint8_t> bytes(8);
  std::vector<float> out(2);
  EXPECT_THROW(to_f32(DType::kI32, bytes, out), Error);
  std::vector<float> three(3);
  EXPECT_THROW(to_f32(DType::kF32, bytes, three), Error);
  EXPECT_FALSE(is_float_dtype(DType::kU8));
}

}  // namespace
}  // namespace enclave
