// AVX2 + FMA + F16C kernels: the tiles of quant_kernels_tiles.h with byte
// products summed in pairs by vpmaddubsw (unsigned x signed, at most
// 2 * 127 * 127 < 2^15 for Q8_0's |x| and w, 2 * 63 * 127 for Q6_K's codes,
// so never saturating) and in fours by vpmaddwd, as llama.cpp's AVX2
// ggml_vec_dot_q8_0_q8_0 does.
// Built with -mavx2 -mfma -mf16c; only called when cpuid reports them.
#include "model/quant_kernels_tiles.h"

namespace enclave::quant_simd {
namespace {

struct Avx2Dot {
  static constexpr bool kNoSaturation = false;  // int16 pair sums
  // acc + the sums of each lane's 4 products u * s.
  static __m256i dot(__m256i acc, __m256i u, __m256i s) {
    return _mm256_add_epi32(acc,
                            _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
  }
};

}  // namespace

void quantize_rows_avx2(const float* x, std::int64_t m, std::int64_t k, std::int8_t* q, float* d8,
                        float* s8) {
  quantize_blocks(x, m * k / 32, q, d8, s8);
}

void matmul_q8_0_avx2(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                      std::int64_t n_end, float* y, std::int64_t ldy) {
  each_tile<Q8_0<Avx2Dot>>(w, x, n_begin, n_end, y, ldy);
}

void matmul_q4_0_avx2(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                      std::int64_t n_end, float* y, std::int64_t ldy) {
  each_tile<Q4_0<Avx2Dot>>(w, x, n_begin, n_end, y, ldy);
}

void matmul_q4_k_avx2(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                      std::int64_t n_end, float* y, std::int64_t ldy) {
  each_tile<Q4_K<Avx2Dot>>(w, x, n_begin, n_end, y, ldy);
}

void matmul_q6_k_avx2(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                      std::int64_t n_end, float* y, std::int64_t ldy) {
  each_tile<Q6_K<Avx2Dot>>(w, x, n_begin, n_end, y, ldy);
}

}  // namespace enclave::quant_simd
