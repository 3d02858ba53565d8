// Dequantisation to bf16 where the CPU has AVX512_BF16: the AVX2 decoders
// (quant_dequant_simd.h) with each eight floats rounded to bf16 by one
// vcvtneps2bf16 (nearest even, NaN kept quiet, as f32_to_bf16) instead of
// six integer operations and a pack: the rounding was most of the work per
// element.
// Built with -mavx512f -mavx512vl -mavx512bf16; only called when cpuid
// reports AVX512_BF16.
#include "model/quant_dequant_simd.h"

namespace enclave::quant_simd {
namespace {

struct Avx512Bf16 {
  static void store8(std::uint16_t* out, __m256 v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                     reinterpret_cast<__m128i>(_mm256_cvtneps_pbh(v)));
  }
};

}  // namespace

void dequantize_bf16_avx512bf16(int type, const std::uint8_t* w, std::int64_t blocks,
                                std::uint16_t* out) {
  dequantize<Avx512Bf16>(type, w, blocks, out);
}

}  // namespace enclave::quant_simd
