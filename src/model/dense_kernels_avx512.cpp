// AVX-512 dense products (dense_kernels_tiles.h): 16 weights per vector; the
// row tail runs on masked loads. Built with -mavx512f/bw/vl; only called
// when cpuid reports them.
#include "model/dense_kernels_isa.h"
#include "model/dense_kernels_tiles.h"

namespace enclave::dense_simd {
namespace {

__mmask16 tail_mask(std::int64_t n) { return static_cast<__mmask16>((1u << n) - 1); }

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
  static __m512 widen(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  const void* ptr(std::int64_t at) const { return w + at; }
  __m512 load(std::int64_t at) const {
    return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + at)));
  }
  __m512 load_tail(std::int64_t at, __mmask16 mask) const {
    return widen(_mm256_maskz_loadu_epi16(mask, w + at));
  }
};

struct Avx512 {
  using Vec = __m512;
  static constexpr std::int64_t kWidth = 16;
  static Vec zero() { return _mm512_setzero_ps(); }
  static Vec load_x(const float* p) { return _mm512_loadu_ps(p); }
  static Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
  template <class W>
  static float finish(Vec acc, const W& w, std::int64_t row, const float* xr, std::int64_t full,
                      std::int64_t k) {
    if (full < k) {
      const __mmask16 mask = tail_mask(k - full);
      acc = _mm512_fmadd_ps(w.load_tail(row + full, mask), _mm512_maskz_loadu_ps(mask, xr + full),
                            acc);
    }
    return _mm512_reduce_add_ps(acc);
  }
};

}  // namespace

void matmul_f32_avx512(const float* w, std::int64_t k, const float* x, std::int64_t m,
                       std::int64_t n_begin, std::int64_t n_end, float* y, std::int64_t ldy) {
  matmul_tiles<Avx512>(F32{w}, k, x, m, n_begin, n_end, y, ldy);
}

void matmul_bf16_avx512(const std::uint16_t* w, std::int64_t k, const float* x, std::int64_t m,
                        std::int64_t n_begin, std::int64_t n_end, float* y, std::int64_t ldy) {
  matmul_tiles<Avx512>(BF16{w}, k, x, m, n_begin, n_end, y, ldy);
}

}  // namespace enclave::dense_simd
