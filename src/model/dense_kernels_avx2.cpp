// AVX2 dense products (dense_kernels_tiles.h): 8 weights per vector; the row
// tail (k % 8) is summed in scalar. Built with -mavx2 -mfma; only called when
// cpuid reports them. No library headers, so no inline code built for AVX2
// is shared with baseline code.
#include "model/dense_kernels_isa.h"
#include "model/dense_kernels_tiles.h"

namespace enclave::dense_simd {
namespace {

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

struct Avx2 {
  using Vec = __m256;
  static constexpr std::int64_t kWidth = 8;
  static Vec zero() { return _mm256_setzero_ps(); }
  static Vec load_x(const float* p) { return _mm256_loadu_ps(p); }
  static Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
  template <class W>
  static float finish(Vec acc, const W& w, std::int64_t row, const float* xr, std::int64_t full,
                      std::int64_t k) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    float sum = _mm_cvtss_f32(s);
    for (std::int64_t i = full; i < k; ++i) sum += w.at(row + i) * xr[i];
    return sum;
  }
};

}  // namespace

void matmul_f32_avx2(const float* w, std::int64_t k, const float* x, std::int64_t m,
                     std::int64_t n_begin, std::int64_t n_end, float* y, std::int64_t ldy) {
  matmul_tiles<Avx2>(F32{w}, k, x, m, n_begin, n_end, y, ldy);
}

void matmul_bf16_avx2(const std::uint16_t* w, std::int64_t k, const float* x, std::int64_t m,
                      std::int64_t n_begin, std::int64_t n_end, float* y, std::int64_t ldy) {
  matmul_tiles<Avx2>(BF16{w}, k, x, m, n_begin, n_end, y, ldy);
}

}  // namespace enclave::dense_simd
