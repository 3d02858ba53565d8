// The vector dequantisers of prefill's quantised tiles, to float32 or to
// bf16, over 8-float AVX2 vectors: ggml_decode's arithmetic in its order
// (d * q; step * q - offset; (d * sc) * (q - 32)), bf16 rounded to nearest
// even from that float32, as torch converts. Bf16 is how eight floats
// become bf16: Bf16::store8(uint16_t*, __m256) (AVX2 integer rounding, or
// one AVX512_BF16 instruction).
// Included by one file per instruction set, each compiled for it: the
// functions here have internal linkage so that no copy built for a wider
// set can stand in for another's (an inline function's copies are merged).
#pragma once

#include "model/quant_kernels_tiles.h"

namespace enclave::quant_simd {
namespace {

// Eight float32 values to out[0..7], as float32 or as bf16.
template <class Bf16, class Out>
inline void store8(Out* out, __m256 v) {
  if constexpr (sizeof(Out) == 4) {
    _mm256_storeu_ps(reinterpret_cast<float*>(out), v);
  } else {
    Bf16::store8(out, v);
  }
}

// The low 8 bytes of a vector as floats, signed or unsigned; the high 8
// (shifted down).
inline __m256 int8x8(__m128i bytes) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes)); }
inline __m256 uint8x8(__m128i bytes) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)); }
inline __m128i high8(__m128i bytes) { return _mm_unpackhi_epi64(bytes, bytes); }

template <class Bf16, class Out>
void q8_0(const std::uint8_t* w, std::int64_t blocks, Out* out) {
  for (std::int64_t b = 0; b < blocks; ++b, w += 34, out += 32) {
    const __m256 d = _mm256_set1_ps(half_at(w));
    for (int h = 0; h < 2; ++h) {
      const __m128i codes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2 + 16 * h));
      store8<Bf16>(out + 16 * h, _mm256_mul_ps(d, int8x8(codes)));
      store8<Bf16>(out + 16 * h + 8, _mm256_mul_ps(d, int8x8(high8(codes))));
    }
  }
}

template <class Bf16, class Out>
void q4_0(const std::uint8_t* w, std::int64_t blocks, Out* out) {
  const __m128i low4 = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(8);
  for (std::int64_t b = 0; b < blocks; ++b, w += 18, out += 32) {
    const __m256 d = _mm256_set1_ps(half_at(w));
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2));
    // Elements 0-15 (low nibbles) and 16-31 (high), less 8.
    const __m128i halves[2] = {_mm_sub_epi8(_mm_and_si128(packed, low4), eight),
                               _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(packed, 4), low4), eight)};
    for (int h = 0; h < 2; ++h) {
      store8<Bf16>(out + 16 * h, _mm256_mul_ps(d, int8x8(halves[h])));
      store8<Bf16>(out + 16 * h + 8, _mm256_mul_ps(d, int8x8(high8(halves[h]))));
    }
  }
}

template <class Bf16, class Out>
void q4_k(const std::uint8_t* w, std::int64_t blocks, Out* out) {
  const __m128i low4 = _mm_set1_epi8(0x0F);
  for (std::int64_t b = 0; b < blocks; ++b, w += kQ4KBlockBytes, out += 256) {
    const __m128i sm = q4_k_scales_and_mins(w + 4);
    alignas(32) float step[8], offset[8];
    _mm256_store_ps(step, _mm256_mul_ps(_mm256_set1_ps(half_at(w)), uint8x8(sm)));
    _mm256_store_ps(offset, _mm256_mul_ps(_mm256_set1_ps(half_at(w + 2)), uint8x8(high8(sm))));
    for (int j = 0; j < 8; ++j) {  // sub-block j: chunk j / 2's low or high nibbles
      const std::uint8_t* codes = w + 16 + 32 * (j / 2);
      const __m256 s = _mm256_set1_ps(step[j]), o = _mm256_set1_ps(offset[j]);
      for (int i = 0; i < 2; ++i) {
        __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + 16 * i));
        if (j % 2 == 1) packed = _mm_srli_epi16(packed, 4);
        packed = _mm_and_si128(packed, low4);
        Out* at = out + 32 * j + 16 * i;
        store8<Bf16>(at, _mm256_sub_ps(_mm256_mul_ps(s, uint8x8(packed)), o));
        store8<Bf16>(at + 8, _mm256_sub_ps(_mm256_mul_ps(s, uint8x8(high8(packed))), o));
      }
    }
  }
}

template <class Bf16, class Out>
void q6_k(const std::uint8_t* w, std::int64_t blocks, Out* out) {
  const __m128i low4 = _mm_set1_epi8(0x0F), three = _mm_set1_epi8(3),
                thirty_two = _mm_set1_epi8(32);
  for (std::int64_t b = 0; b < blocks; ++b, w += kQ6KBlockBytes, out += 256) {
    const auto* sc = reinterpret_cast<const std::int8_t*>(w + 192);
    const float d = half_at(w + 208);
    for (int h = 0; h < 2; ++h) {
      const std::uint8_t* ql = w + 64 * h;
      const std::uint8_t* qh = w + 128 + 32 * h;
      for (int l = 0; l < 32; l += 16) {
        const __m128i ql0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(ql + l));
        const __m128i ql1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(ql + 32 + l));
        const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qh + l));
        // Code k of elements l .. l + 15: a nibble of ql0 / ql1 and bits 2k, 2k + 1 of qh.
        const __m128i lows[4] = {ql0, ql1, _mm_srli_epi16(ql0, 4), _mm_srli_epi16(ql1, 4)};
        for (int k = 0; k < 4; ++k) {
          const __m128i high = _mm_and_si128(_mm_srli_epi16(hi, 2 * k), three);
          const __m128i code = _mm_sub_epi8(
              _mm_or_si128(_mm_and_si128(lows[k], low4), _mm_slli_epi16(high, 4)), thirty_two);
          const int e = 128 * h + 32 * k + l;  // 16 elements of one sub-block
          const __m256 scale = _mm256_set1_ps(d * static_cast<float>(sc[e / 16]));
          store8<Bf16>(out + e, _mm256_mul_ps(scale, int8x8(code)));
          store8<Bf16>(out + e + 8, _mm256_mul_ps(scale, int8x8(high8(code))));
        }
      }
    }
  }
}

template <class Bf16, class Out>
void dequantize(int type, const std::uint8_t* w, std::int64_t blocks, Out* out) {
  switch (type) {
    case kDequantQ8_0:
      return q8_0<Bf16>(w, blocks, out);
    case kDequantQ4_0:
      return q4_0<Bf16>(w, blocks, out);
    case kDequantQ4_K:
      return q4_k<Bf16>(w, blocks, out);
    default:
      return q6_k<Bf16>(w, blocks, out);
  }
}

}  // namespace
}  // namespace enclave::quant_simd
