// AVX2 dense products: 8 weights per vector, four weight rows per tile
// against one activation load; the row tail (k % 8) is summed in scalar.
// Built with -mavx2 -mfma; only called when cpuid reports them. No library
// headers, so no inline code built for AVX2 is shared with baseline code.
#include <immintrin.h>

#include "model/dense_kernels_isa.h"

namespace enclave::dense_simd {
namespace {

inline void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }

inline float sum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

struct F32 {
  const float* w;
  const void* ptr(std::int64_t at) const { return w + at; }
  __m256 load(std::int64_t at) const { return _mm256_loadu_ps(w + at); }
  float at(std::int64_t i) const { return w[i]; }
};

struct BF16 {
  const std::uint16_t* w;
  const void* ptr(std::int64_t at) const { return w + at; }
  __m256 load(std::int64_t at) const {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + at));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  float at(std::int64_t i) const {
    const std::uint32_t bits = static_cast<std::uint32_t>(w[i]) << 16;
    float f;
    __builtin_memcpy(&f, &bits, 4);
    return f;
  }
};

template <typename W>
float row_tail(W w, std::int64_t row, const float* xr, std::int64_t from, std::int64_t k) {
  float s = 0;
  for (std::int64_t i = from; i < k; ++i) s += w.at(row + i) * xr[i];
  return s;
}

template <typename W>
void matmul(W w, std::int64_t k, const float* x, std::int64_t m, std::int64_t n_begin,
            std::int64_t n_end, float* y, std::int64_t ldy) {
  const std::int64_t full = k / 8 * 8;
  const std::int64_t ahead = 4 * k;
  std::int64_t n = n_begin;
  for (; n + 4 <= n_end; n += 4) {
    const std::int64_t r0 = n * k, r1 = r0 + k, r2 = r1 + k, r3 = r2 + k;
    for (std::int64_t r = 0; r < m; ++r) {
      const float* xr = x + r * k;
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (std::int64_t i = 0; i < full; i += 8) {
        // The same place in the next tile (4 rows on): the hardware
        // prefetchers alone leave the core waiting on the weight stream.
        if (r == 0) {
          prefetch(w.ptr(r0 + ahead + i));
          prefetch(w.ptr(r1 + ahead + i));
          prefetch(w.ptr(r2 + ahead + i));
          prefetch(w.ptr(r3 + ahead + i));
        }
        const __m256 xv = _mm256_loadu_ps(xr + i);
        a0 = _mm256_fmadd_ps(w.load(r0 + i), xv, a0);
        a1 = _mm256_fmadd_ps(w.load(r1 + i), xv, a1);
        a2 = _mm256_fmadd_ps(w.load(r2 + i), xv, a2);
        a3 = _mm256_fmadd_ps(w.load(r3 + i), xv, a3);
      }
      float* yr = y + r * ldy + n;
      yr[0] = sum8(a0) + row_tail(w, r0, xr, full, k);
      yr[1] = sum8(a1) + row_tail(w, r1, xr, full, k);
      yr[2] = sum8(a2) + row_tail(w, r2, xr, full, k);
      yr[3] = sum8(a3) + row_tail(w, r3, xr, full, k);
    }
  }
  for (; n < n_end; ++n) {
    for (std::int64_t r = 0; r < m; ++r) {
      const float* xr = x + r * k;
      __m256 a = _mm256_setzero_ps();
      for (std::int64_t i = 0; i < full; i += 8)
        a = _mm256_fmadd_ps(w.load(n * k + i), _mm256_loadu_ps(xr + i), a);
      y[r * ldy + n] = sum8(a) + row_tail(w, n * k, xr, full, k);
    }
  }
}

}  // namespace

void matmul_f32_avx2(const float* w, std::int64_t k, const float* x, std::int64_t m,
                     std::int64_t n_begin, std::int64_t n_end, float* y, std::int64_t ldy) {
  matmul(F32{w}, k, x, m, n_begin, n_end, y, ldy);
}

void matmul_bf16_avx2(const std::uint16_t* w, std::int64_t k, const float* x, std::int64_t m,
                      std::int64_t n_begin, std::int64_t n_end, float* y, std::int64_t ldy) {
  matmul(BF16{w}, k, x, m, n_begin, n_end, y, ldy);
}

}  // namespace enclave::dense_simd
