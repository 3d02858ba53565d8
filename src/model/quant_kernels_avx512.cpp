// AVX-512 VNNI kernels: the tiles of quant_kernels_tiles.h with each lane's
// 4 byte products (unsigned x signed) summed into it by one vpdpbusd on
// 256-bit vectors (AVX512VL), which leaves all three vector ports usable
// and the clock at its 256-bit level; the weight stream, not the
// arithmetic, bounds these kernels.
// Built with -mavx512f/bw/vl/dq/vnni; only called when cpuid reports them.
#include "model/quant_kernels_tiles.h"

namespace enclave::quant_simd {
namespace {

struct VnniDot {
  static constexpr bool kNoSaturation = true;  // int32 sums of 4 products
  static __m256i dot(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(acc, u, s); }
};

}  // namespace

void quantize_rows_avx512(const float* x, std::int64_t m, std::int64_t k, std::int8_t* q, float* d8,
                          float* s8) {
  quantize_blocks(x, m * k / 32, q, d8, s8);
}

void matmul_q8_0_avx512(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                        std::int64_t n_end, float* y, std::int64_t ldy) {
  each_tile<Q8_0<VnniDot>>(w, x, n_begin, n_end, y, ldy);
}

void matmul_q4_0_avx512(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                        std::int64_t n_end, float* y, std::int64_t ldy) {
  each_tile<Q4_0<VnniDot>>(w, x, n_begin, n_end, y, ldy);
}

void matmul_q4_k_avx512(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                        std::int64_t n_end, float* y, std::int64_t ldy) {
  each_tile<Q4_K<VnniDot>>(w, x, n_begin, n_end, y, ldy);
}

void matmul_q6_k_avx512(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                        std::int64_t n_end, float* y, std::int64_t ldy) {
  each_tile<Q6_K<VnniDot>>(w, x, n_begin, n_end, y, ldy);
}

}  // namespace enclave::quant_simd
