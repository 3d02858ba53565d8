// The four-rows-at-a-time dense product shared by dense_kernels_avx2.cpp and
// dense_kernels_avx512.cpp, each including it with its own -m flags. V is
// the file's vector traits (kWidth floats per vector: zero, load_x, fma, and
// finish, which adds the row's k % kWidth tail and sums the lanes); W loads
// kWidth weights (float32 or bfloat16 widened) at an element index. Internal
// linkage only (an anonymous namespace), so no code built for one
// instruction set is shared with another.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace enclave::dense_simd {
namespace {

inline void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }

template <class V, class W>
void matmul_tiles(W w, std::int64_t k, const float* x, std::int64_t m, std::int64_t n_begin,
                  std::int64_t n_end, float* y, std::int64_t ldy) {
  using Vec = typename V::Vec;
  const std::int64_t full = k / V::kWidth * V::kWidth;
  std::int64_t n = n_begin;
  for (; n + 4 <= n_end; n += 4) {
    const std::int64_t rows[4] = {n * k, (n + 1) * k, (n + 2) * k, (n + 3) * k};
    for (std::int64_t r = 0; r < m; ++r) {
      const float* xr = x + r * k;
      Vec acc[4] = {V::zero(), V::zero(), V::zero(), V::zero()};
      for (std::int64_t i = 0; i < full; i += V::kWidth) {
        // The same place in the next tile (4 rows on): the hardware
        // prefetchers alone leave the core waiting on the weight stream.
        if (r == 0)
          for (const std::int64_t row : rows) prefetch(w.ptr(row + 4 * k + i));
        const Vec xv = V::load_x(xr + i);
        for (int j = 0; j < 4; ++j) acc[j] = V::fma(w.load(rows[j] + i), xv, acc[j]);
      }
      for (int j = 0; j < 4; ++j) y[r * ldy + n + j] = V::finish(acc[j], w, rows[j], xr, full, k);
    }
  }
  for (; n < n_end; ++n) {
    for (std::int64_t r = 0; r < m; ++r) {
      const float* xr = x + r * k;
      Vec acc = V::zero();
      for (std::int64_t i = 0; i < full; i += V::kWidth)
        acc = V::fma(w.load(n * k + i), V::load_x(xr + i), acc);
      y[r * ldy + n] = V::finish(acc, w, n * k, xr, full, k);
    }
  }
}

}  // namespace
}  // namespace enclave::dense_simd
