// Dequantisation on AVX2 vectors, to float32 or to bf16: prefill dequantises
// every weight matrix once per forward (quant_linear's many-row path) and
// hands it to a dense product, so this decode runs over every byte of the
// model per prompt and must keep up with the product (the scalar decoder
// left prefill waiting on it). AVX-512 machines with AVX512_BF16 round to
// bf16 with one instruction instead (quant_dequant_avx512bf16.cpp).
// Built with -mavx2 -mfma -mf16c; only called when cpuid reports them.
#include "model/quant_dequant_simd.h"

namespace enclave::quant_simd {
namespace {

// Round to nearest even with integer arithmetic, then pack.
struct Avx2Bf16 {
  static void store8(std::uint16_t* out, __m256 v) {
    const __m256i bits = _mm256_castps_si256(v);
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_srli_epi32(
        _mm256_add_epi32(_mm256_add_epi32(bits, _mm256_set1_epi32(0x7fff)), odd), 16);
    _mm_storeu_si128(
        reinterpret_cast<__m128i*>(out),
        _mm_packus_epi32(_mm256_castsi256_si128(rounded), _mm256_extracti128_si256(rounded, 1)));
  }
};

}  // namespace

void dequantize_avx2(int type, const std::uint8_t* w, std::int64_t blocks, float* out) {
  dequantize<Avx2Bf16>(type, w, blocks, out);
}

void dequantize_bf16_avx2(int type, const std::uint8_t* w, std::int64_t blocks,
                          std::uint16_t* out) {
  dequantize<Avx2Bf16>(type, w, blocks, out);
}

}  // namespace enclave::quant_simd
