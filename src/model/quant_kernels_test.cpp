// The quantised kernels against the plain dequantise-then-matmul reference,
// on every instruction-set path this CPU has (forced one by one, so an
// AVX-512 machine also checks the AVX2 path AMD machines take).
//
// Tolerances: the kernels quantise each activation block to int8 (error at
// most amax_block / 254 per element), so against the reference with the
// original x an output may differ by at most sum_i |w_i| * amax_block(i) /
// 254 (a bound, checked as stated plus 1e-4 of float rounding). Against the
// reference given the already-quantised x, only float rounding remains:
// 1e-5 of sum |w_i x_i| + 1e-6. The same bounds hold for the K-quants
// (Q4_K, Q6_K), whose sub-blocks meet the same per-32 activation blocks;
// they are also run on random bytes (every code and scale pattern a file
// can hold, with finite fp16 scales) besides encoded matrices.
#include "model/quant_kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "core/error.h"
#include "model/float_convert.h"

namespace enclave {
namespace {

std::vector<float> random_values(std::size_t n, std::uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<QuantIsa> supported_isas() {
  std::vector<QuantIsa> out{QuantIsa::kScalar};
  if (detect_quant_isa() >= QuantIsa::kAvx2) out.push_back(QuantIsa::kAvx2);
  if (detect_quant_isa() >= QuantIsa::kAvx512) out.push_back(QuantIsa::kAvx512);
  return out;
}

// x as the kernels see it: each block's codes times its scale.
std::vector<float> quantized_x(const QuantizedRows& xq) {
  std::vector<float> out(xq.q.size());
  const std::int64_t nb = xq.k / 32;
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = xq.d8[i / 32 * 8] * static_cast<float>(xq.q[i]);
  (void)nb;
  return out;
}

struct Case {
  QuantType type;
  std::int64_t m, n, k;
  bool random_bytes = false;  // K-quants: arbitrary blocks instead of encoded weights
};

// n rows of k weights as random `type` blocks whose fp16 scales are set to
// finite values of either sign (so every code and 6-bit / int8 scale occurs).
std::vector<std::uint8_t> random_blocks(QuantType type, std::int64_t n, std::int64_t k) {
  std::mt19937 rng(7);
  std::vector<std::uint8_t> w(static_cast<std::size_t>(n * quant_row_bytes(type, k)));
  for (std::uint8_t& b : w) b = static_cast<std::uint8_t>(rng());
  std::uniform_real_distribution<float> scale(-2e-3f, 2e-3f);
  auto put = [&](std::size_t at) {
    const std::uint16_t h = f32_to_f16(scale(rng));
    std::memcpy(w.data() + at, &h, 2);
  };
  const auto bytes = static_cast<std::size_t>(quant_block_bytes(type));
  for (std::size_t at = 0; at < w.size(); at += bytes) {
    if (type == QuantType::kQ4_K) {
      put(at);
      put(at + 2);
    } else {
      put(at + 208);
    }
  }
  return w;
}

class QuantKernelsTest : public ::testing::TestWithParam<Case> {};

TEST_P(QuantKernelsTest, EveryPathMatchesTheDequantizedReference) {
  const auto [type, m, n, k, random_bytes] = GetParam();
  const std::vector<float> wf = random_values(static_cast<std::size_t>(n * k), 1, 0.05f);
  std::vector<float> x = random_values(static_cast<std::size_t>(m * k), 2, 1.0f);
  x[5] = 0;  // a zero and an all-zero block (scale 0) are handled
  if (k >= 64) std::fill(x.begin() + 32, x.begin() + 64, 0.0f);
  const std::vector<std::uint8_t> w =
      random_bytes ? random_blocks(type, n, k) : quantize_weights(type, wf);
  QuantizedRows xq;
  quantize_rows_q8(x.data(), m, k, xq);
  const std::vector<float> ref = quant_matmul_reference(type, w, x, m, n, k);
  const std::vector<float> ref_q = quant_matmul_reference(type, w, quantized_x(xq), m, n, k);
  std::vector<float> wd(static_cast<std::size_t>(n * k));
  dequantize_rows(type, w.data(), k, 0, n, wd.data());

  for (QuantIsa isa : supported_isas()) {
    std::vector<float> y(static_cast<std::size_t>(m * n), NAN);
    // The output rows in calls of 1, 3, 5, 1, 3, 5, ... rows (odd starts,
    // ranges short of a tile or a tile and a remainder), the rest in one
    // call, as threads split them.
    std::int64_t begin = 0;
    for (std::int64_t size = 1; begin + size < n; begin += size, size = size == 5 ? 1 : size + 2)
      quant_matmul_rows_on(isa, type, w.data(), xq, begin, begin + size, y.data(), n);
    quant_matmul_rows_on(isa, type, w.data(), xq, begin, n, y.data(), n);
    double max_diff = 0, max_diff_q = 0;
    for (std::int64_t r = 0; r < m; ++r) {
      for (std::int64_t j = 0; j < n; ++j) {
        double bound = 0, magnitude = 0;
        for (std::int64_t i = 0; i < k; ++i) {
          const float* xb = x.data() + r * k + i / 32 * 32;
          float amax = 0;
          for (int t = 0; t < 32; ++t) amax = std::max(amax, std::fabs(xb[t]));
          bound += std::fabs(wd[j * k + i]) * amax / 254.0;
          magnitude += std::fabs(wd[j * k + i] * x[r * k + i]);
        }
        const double got = y[r * n + j];
        const double diff = std::fabs(got - ref[r * n + j]);
        const double diff_q = std::fabs(got - ref_q[r * n + j]);
        max_diff = std::max(max_diff, diff);
        max_diff_q = std::max(max_diff_q, diff_q);
        ASSERT_LE(diff, bound + 1e-4 * magnitude + 1e-6)
            << quant_isa_name(isa) << " row " << r << " col " << j;
        ASSERT_LE(diff_q, 1e-5 * magnitude + 1e-6)
            << quant_isa_name(isa) << " row " << r << " col " << j;
      }
    }
    std::printf("%s %s%s m=%lld n=%lld k=%lld: maxdiff %.3g (reference), %.3g (quantised x)\n",
                quant_isa_name(isa).data(), quant_type_name(type).data(),
                random_bytes ? " (random blocks)" : "", static_cast<long long>(m),
                static_cast<long long>(n), static_cast<long long>(k), max_diff, max_diff_q);
  }
}

// Every path decodes the blocks to ggml_decode's values (the vector paths
// may fuse a multiply and a subtraction: one float rounding, far below the
// 1e-6 of the matrix's largest weight allowed), and to bf16 rounded to
// nearest even from its own float32 values.
TEST_P(QuantKernelsTest, EveryPathDequantizesAsTheReferenceDecoder) {
  const auto [type, m, n, k, random_bytes] = GetParam();
  const std::vector<std::uint8_t> w =
      random_bytes
          ? random_blocks(type, n, k)
          : quantize_weights(type, random_values(static_cast<std::size_t>(n * k), 1, 0.05f));
  std::vector<float> want(static_cast<std::size_t>(n * k));
  dequantize_rows_on(QuantIsa::kScalar, type, w.data(), k, 0, n, want.data());
  float max_abs = 0;
  for (float v : want) max_abs = std::max(max_abs, std::fabs(v));
  ASSERT_GT(max_abs, 0);
  for (QuantIsa isa : supported_isas()) {
    std::vector<float> got(want.size(), NAN);
    std::vector<std::uint16_t> got_bf16(want.size());
    // Row 0 alone, then the rest: a range may start anywhere.
    dequantize_rows_on(isa, type, w.data(), k, 0, 1, got.data());
    dequantize_rows_on(isa, type, w.data(), k, 1, n, got.data() + k);
    dequantize_rows_bf16_on(isa, type, w.data(), k, 0, 1, got_bf16.data());
    dequantize_rows_bf16_on(isa, type, w.data(), k, 1, n, got_bf16.data() + k);
    for (std::size_t i = 0; i < want.size(); ++i) {
      ASSERT_NEAR(got[i], want[i], 1e-6 * max_abs) << quant_isa_name(isa) << " element " << i;
      ASSERT_EQ(got_bf16[i], f32_to_bf16(got[i])) << quant_isa_name(isa) << " element " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, QuantKernelsTest,
    ::testing::Values(Case{QuantType::kQ8_0, 1, 37, 256}, Case{QuantType::kQ8_0, 3, 20, 96},
                      Case{QuantType::kQ8_0, 2, 21, 320}, Case{QuantType::kQ4_0, 1, 37, 256},
                      Case{QuantType::kQ4_0, 3, 20, 96}, Case{QuantType::kQ4_0, 2, 21, 320},
                      Case{QuantType::kQ4_0, 15, 9, 320}, Case{QuantType::kQ4_K, 2, 21, 768},
                      Case{QuantType::kQ6_K, 2, 21, 768}, Case{QuantType::kQ4_K, 1, 37, 512},
                      Case{QuantType::kQ4_K, 3, 20, 256}, Case{QuantType::kQ4_K, 2, 9, 512, true},
                      Case{QuantType::kQ6_K, 1, 37, 512}, Case{QuantType::kQ6_K, 3, 20, 256},
                      Case{QuantType::kQ6_K, 2, 9, 512, true}));

TEST(QuantIsaTest, ForcingAPathSelectsItAndAnUnsupportedOneIsAnError) {
  const QuantIsa best = detect_quant_isa();
  for (QuantIsa isa : supported_isas()) {
    set_quant_isa(isa);
    EXPECT_EQ(quant_isa(), isa);
  }
  if (best != QuantIsa::kAvx512) {
    EXPECT_THROW(set_quant_isa(QuantIsa::kAvx512), Error);
  }
  set_quant_isa(best);
  EXPECT_EQ(quant_isa(), best);
}

TEST(QuantIsaTest, EveryPathQuantizesActivationsToTheSameBytes) {
  constexpr std::int64_t m = 3, k = 320;
  std::vector<float> x = random_values(static_cast<std::size_t>(m * k), 3, 1.0f);
  std::fill(x.begin(), x.begin() + 32, 0.0f);  // scale 0
  // d = 1: codes at exact halves round to even.
  const float halves[] = {127.0f, 2.5f, -3.5f, 0.5f, 1.5f, -0.5f, -126.5f};
  std::copy(std::begin(halves), std::end(halves), x.begin() + 32);
  QuantizedRows want;
  set_quant_isa(QuantIsa::kScalar);
  quantize_rows_q8(x.data(), m, k, want);
  EXPECT_EQ(want.q[33], 2);
  EXPECT_EQ(want.q[34], -4);
  EXPECT_EQ(want.q[38], -126);
  for (QuantIsa isa : supported_isas()) {
    set_quant_isa(isa);
    QuantizedRows got;
    quantize_rows_q8(x.data(), m, k, got);
    EXPECT_EQ(got.q, want.q) << quant_isa_name(isa);
    EXPECT_EQ(got.d8, want.d8) << quant_isa_name(isa);
    EXPECT_EQ(got.s8, want.s8) << quant_isa_name(isa);
  }
  set_quant_isa(detect_quant_isa());
}

TEST(QuantIsaTest, QuantizedRowsHoldScaleAndSumPerBlock) {
  std::vector<float> x(64);
  for (int i = 0; i < 64; ++i) x[i] = static_cast<float>(i - 20);
  QuantizedRows q;
  quantize_rows_q8(x.data(), 1, 64, q);
  EXPECT_FLOAT_EQ(q.d8[0], 20.0f / 127.0f);
  EXPECT_EQ(q.q[0], -127);
  EXPECT_EQ(q.q[31], static_cast<std::int8_t>(std::nearbyint(11 * 127.0 / 20.0)));
  EXPECT_EQ(q.q[63], 127);
  int sum = 0;
  for (int i = 0; i < 32; ++i) sum += q.q[i];
  EXPECT_FLOAT_EQ(q.s8[7], q.d8[0] * static_cast<float>(sum));
  EXPECT_FLOAT_EQ(q.d8[8], 43.0f / 127.0f);
}

}  // namespace
}  // namespace enclave
