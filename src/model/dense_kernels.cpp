#include "model/dense_kernels.h"

#include <cstring>

#include "core/error.h"
#include "model/dense_kernels_isa.h"

namespace enclave {
namespace {

float widen(std::uint16_t bits) {
  const std::uint32_t wide = static_cast<std::uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &wide, 4);
  return f;
}

template <typename T, typename Widen>
void matmul_scalar(const T* w, std::int64_t k, const float* x, std::int64_t m, std::int64_t n_begin,
                   std::int64_t n_end, float* y, std::int64_t ldy, Widen to_float) {
  for (std::int64_t n = n_begin; n < n_end; ++n) {
    const T* row = w + n * k;
    for (std::int64_t r = 0; r < m; ++r) {
      const float* xr = x + r * k;
      float s = 0;
      for (std::int64_t i = 0; i < k; ++i) s += to_float(row[i]) * xr[i];
      y[r * ldy + n] = s;
    }
  }
}

}  // namespace

void dense_matmul_rows_on(QuantIsa isa, DenseType type, const void* w, std::int64_t k,
                          const float* x, std::int64_t m, std::int64_t n_begin, std::int64_t n_end,
                          float* y, std::int64_t ldy) {
  ENCLAVE_CHECK(k > 0 && m >= 0 && n_begin <= n_end);
  const auto* w32 = static_cast<const float*>(w);
  const auto* w16 = static_cast<const std::uint16_t*>(w);
  const bool f32 = type == DenseType::kF32;
  switch (isa) {
    case QuantIsa::kAvx512:
      return f32 ? dense_simd::matmul_f32_avx512(w32, k, x, m, n_begin, n_end, y, ldy)
                 : dense_simd::matmul_bf16_avx512(w16, k, x, m, n_begin, n_end, y, ldy);
    case QuantIsa::kAvx2:
      return f32 ? dense_simd::matmul_f32_avx2(w32, k, x, m, n_begin, n_end, y, ldy)
                 : dense_simd::matmul_bf16_avx2(w16, k, x, m, n_begin, n_end, y, ldy);
    case QuantIsa::kScalar:
      if (f32)
        return matmul_scalar(w32, k, x, m, n_begin, n_end, y, ldy, [](float v) { return v; });
      return matmul_scalar(w16, k, x, m, n_begin, n_end, y, ldy, widen);
  }
}

void dense_matmul_rows(DenseType type, const void* w, std::int64_t k, const float* x,
                       std::int64_t m, std::int64_t n_begin, std::int64_t n_end, float* y,
                       std::int64_t ldy) {
  dense_matmul_rows_on(quant_isa(), type, w, k, x, m, n_begin, n_end, y, ldy);
}

void dense_row(DenseType type, const void* w, std::int64_t k, std::int64_t n, float* out) {
  if (type == DenseType::kF32) {
    std::memcpy(out, static_cast<const float*>(w) + n * k, static_cast<std::size_t>(k) * 4);
    return;
  }
  const auto* row = static_cast<const std::uint16_t*>(w) + n * k;
  for (std::int64_t i = 0; i < k; ++i) out[i] = widen(row[i]);
}

}  // namespace enclave
