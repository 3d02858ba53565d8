#include "model/dense_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "model/float_convert.h"

namespace enclave {
namespace {

// Every path against a float64 sum of the same (bf16-rounded) weights, for
// widths with and without a vector tail and row ranges that start and end
// off the four-row tile.
TEST(DenseKernelsTest, EveryPathMatchesAFloat64Reference) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal;
  for (const std::int64_t k : {7, 16, 37, 64, 100}) {
    const std::int64_t n = 11, m = 3;
    std::vector<float> w32(n * k), x(m * k);
    for (float& v : w32) v = normal(rng);
    for (float& v : x) v = normal(rng);
    std::vector<std::uint16_t> w16(w32.size());
    for (std::size_t i = 0; i < w32.size(); ++i) w16[i] = f32_to_bf16(w32[i]);
    for (const DenseType type : {DenseType::kF32, DenseType::kBF16}) {
      const void* w = type == DenseType::kF32 ? static_cast<const void*>(w32.data()) : w16.data();
      for (const QuantIsa isa : {QuantIsa::kScalar, QuantIsa::kAvx2, QuantIsa::kAvx512}) {
        if (isa > detect_quant_isa()) continue;
        for (const auto& [begin, end] : {std::pair{0, 11}, std::pair{1, 6}, std::pair{3, 4}}) {
          std::vector<float> y(m * n, -1.0f);
          dense_matmul_rows_on(isa, type, w, k, x.data(), m, begin, end, y.data(), n);
          for (std::int64_t r = 0; r < m; ++r) {
            for (std::int64_t j = 0; j < n; ++j) {
              const float got = y[r * n + j];
              if (j < begin || j >= end) {
                EXPECT_EQ(got, -1.0f) << "row outside the range was written";
                continue;
              }
              double want = 0;
              for (std::int64_t i = 0; i < k; ++i) {
                const float wi =
                    type == DenseType::kF32 ? w32[j * k + i] : bf16_to_f32(w16[j * k + i]);
                want += double{wi} * x[r * k + i];
              }
              EXPECT_NEAR(got, want, 1e-5 * k) << quant_isa_name(isa) << " k=" << k;
            }
          }
        }
      }
    }
    std::vector<float> row(k);
    dense_row(DenseType::kBF16, w16.data(), k, 2, row.data());
    for (std::int64_t i = 0; i < k; ++i) EXPECT_EQ(row[i], bf16_to_f32(w16[2 * k + i]));
  }
}

}  // namespace
}  // namespace enclave
