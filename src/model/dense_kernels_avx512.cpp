// AVX-512 dense products: 16 weights per vector, four weight rows per tile
// against one activation load; the row tail runs on masked loads.
// Built with -mavx512f/bw/vl; only called when cpuid reports them.
#include <immintrin.h>

#include "model/dense_kernels_isa.h"

namespace enclave::dense_simd {
namespace {

inline void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }

struct F32 {
  const float* w;
  const void* ptr(std::int64_t at) const { return w + at; }
  __m512 load(std::int64_t at) const { return _mm512_loadu_ps(w + at); }
  __m512 load_tail(std::int64_t at, __mmask16 mask) const {
    return _mm512_maskz_loadu_ps(mask, w + at);
  }
};

// bfloat16 bits are the top half of a float32's.
struct BF16 {
  const std::uint16_t* w;
  const void* ptr(std::int64_t at) const { return w + at; }
  static __m512 widen(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  __m512 load(std::int64_t at) const {
    return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + at)));
  }
  __m512 load_tail(std::int64_t at, __mmask16 mask) const {
    return widen(_mm256_maskz_loadu_epi16(mask, w + at));
  }
};

template <typename W>
void matmul(W w, std::int64_t k, const float* x, std::int64_t m, std::int64_t n_begin,
            std::int64_t n_end, float* y, std::int64_t ldy) {
  const std::int64_t full = k / 16 * 16;
  const __mmask16 tail = static_cast<__mmask16>((1u << (k - full)) - 1);
  const std::int64_t ahead = 4 * k;
  std::int64_t n = n_begin;
  for (; n + 4 <= n_end; n += 4) {
    const std::int64_t r0 = n * k, r1 = r0 + k, r2 = r1 + k, r3 = r2 + k;
    for (std::int64_t r = 0; r < m; ++r) {
      const float* xr = x + r * k;
      __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (std::int64_t i = 0; i < full; i += 16) {
        // The same place in the next tile (4 rows on): the hardware
        // prefetchers alone leave the core waiting on the weight stream.
        if (r == 0) {
          prefetch(w.ptr(r0 + ahead + i));
          prefetch(w.ptr(r1 + ahead + i));
          prefetch(w.ptr(r2 + ahead + i));
          prefetch(w.ptr(r3 + ahead + i));
        }
        const __m512 xv = _mm512_loadu_ps(xr + i);
        a0 = _mm512_fmadd_ps(w.load(r0 + i), xv, a0);
        a1 = _mm512_fmadd_ps(w.load(r1 + i), xv, a1);
        a2 = _mm512_fmadd_ps(w.load(r2 + i), xv, a2);
        a3 = _mm512_fmadd_ps(w.load(r3 + i), xv, a3);
      }
      if (tail) {
        const __m512 xv = _mm512_maskz_loadu_ps(tail, xr + full);
        a0 = _mm512_fmadd_ps(w.load_tail(r0 + full, tail), xv, a0);
        a1 = _mm512_fmadd_ps(w.load_tail(r1 + full, tail), xv, a1);
        a2 = _mm512_fmadd_ps(w.load_tail(r2 + full, tail), xv, a2);
        a3 = _mm512_fmadd_ps(w.load_tail(r3 + full, tail), xv, a3);
      }
      float* yr = y + r * ldy + n;
      yr[0] = _mm512_reduce_add_ps(a0);
      yr[1] = _mm512_reduce_add_ps(a1);
      yr[2] = _mm512_reduce_add_ps(a2);
      yr[3] = _mm512_reduce_add_ps(a3);
    }
  }
  for (; n < n_end; ++n) {
    for (std::int64_t r = 0; r < m; ++r) {
      const float* xr = x + r * k;
      __m512 a = _mm512_setzero_ps();
      for (std::int64_t i = 0; i < full; i += 16)
        a = _mm512_fmadd_ps(w.load(n * k + i), _mm512_loadu_ps(xr + i), a);
      if (tail)
        a = _mm512_fmadd_ps(w.load_tail(n * k + full, tail), _mm512_maskz_loadu_ps(tail, xr + full),
                            a);
      y[r * ldy + n] = _mm512_reduce_add_ps(a);
    }
  }
}

}  // namespace

void matmul_f32_avx512(const float* w, std::int64_t k, const float* x, std::int64_t m,
                       std::int64_t n_begin, std::int64_t n_end, float* y, std::int64_t ldy) {
  matmul(F32{w}, k, x, m, n_begin, n_end, y, ldy);
}

void matmul_bf16_avx512(const std::uint16_t* w, std::int64_t k, const float* x, std::int64_t m,
                        std::int64_t n_begin, std::int64_t n_end, float* y, std::int64_t ldy) {
  matmul(BF16{w}, k, x, m, n_begin, n_end, y, ldy);
}

}  // namespace enclave::dense_simd
