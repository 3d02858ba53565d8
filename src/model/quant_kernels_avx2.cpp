// AVX2 + FMA + F16C kernels (llama.cpp's ggml_vec_dot_q8_0_q8_0 and
// ggml_vec_dot_q4_0_q8_0 for AVX2): one 32-weight block per 256-bit vector,
// byte products summed in pairs by vpmaddubsw (unsigned x signed, at most
// 2 * 127 * 127 < 2^15, so never saturating) and in fours by vpmaddwd.
// Q4_K and Q6_K follow ggml_vec_dot_q4_K_q8_K / q6_K_q8_K's unpacking, on
// per-32 activation blocks (quant_kernels.h): Q6_K's 6-bit codes are
// rebuilt from ql and qh, their -32 offset subtracted as vpmaddubsw(32, x)
// (2 * 63 * 127 < 2^15) and the pairs multiplied by the sub-block scales in
// vpmaddwd.
// Built with -mavx2 -mfma -mf16c; only called when cpuid reports them.
#include <immintrin.h>

#include "model/quant_kernels_isa.h"

namespace enclave::quant_simd {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline __m256 scale_of(const std::uint8_t* block) {
  std::uint16_t h;
  __builtin_memcpy(&h, block, 2);
  return _mm256_cvtph_ps(_mm_set1_epi16(static_cast<short>(h)));
}

// Sum of 32 unsigned x signed byte products as 8 int32 lanes.
inline __m256i dot_u8_s8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

inline float half_at(const std::uint8_t* p) {
  std::uint16_t h;
  __builtin_memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

}  // namespace

void matmul_q8_0_avx2(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                      std::int64_t n_end, float* y, std::int64_t ldy) {
  const std::int64_t nb = x.k / 32;
  each_output(w, nb * 34, x, n_begin, n_end, y, ldy,
              [nb](const std::uint8_t* row, const std::int8_t* xq, const float* d8, const float*) {
                __m256 acc = _mm256_setzero_ps();
                for (std::int64_t b = 0; b < nb; ++b) {
                  const std::uint8_t* block = row + b * 34;
                  const __m256i wq = load256(block + 2);
                  const __m256i xv = load256(xq + b * 32);
                  // |x| meets w with the sign of x: the same products, unsigned x signed.
                  const __m256i dot = dot_u8_s8(_mm256_sign_epi8(xv, xv), _mm256_sign_epi8(wq, xv));
                  const __m256 scale = _mm256_mul_ps(scale_of(block), _mm256_loadu_ps(d8 + b * 8));
                  acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, acc);
                }
                return hsum(acc);
              });
}

void matmul_q4_0_avx2(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                      std::int64_t n_end, float* y, std::int64_t ldy) {
  const std::int64_t nb = x.k / 32;
  each_output(
      w, nb * 18, x, n_begin, n_end, y, ldy,
      [nb](const std::uint8_t* row, const std::int8_t* xq, const float* d8, const float* s8) {
        const __m256i low4 = _mm256_set1_epi8(0x0F);
        __m256 acc = _mm256_setzero_ps();
        for (std::int64_t b = 0; b < nb; ++b) {
          const std::uint8_t* block = row + b * 18;
          const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 2));
          const __m256i codes =
              _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), low4);
          const __m256 dw = scale_of(block);
          const __m256 scale = _mm256_mul_ps(dw, _mm256_loadu_ps(d8 + b * 8));
          acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot_u8_s8(codes, load256(xq + b * 32))), scale,
                                acc);
          // The -8 offset: 8 lanes of d_w * d_x * sum(x_q) add up to 8 times it.
          acc = _mm256_fnmadd_ps(dw, _mm256_loadu_ps(s8 + b * 8), acc);
        }
        return hsum(acc);
      });
}

void matmul_q4_k_avx2(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                      std::int64_t n_end, float* y, std::int64_t ldy) {
  const std::int64_t nsb = x.k / 256;
  each_output(
      w, nsb * kQ4KBlockBytes, x, n_begin, n_end, y, ldy,
      [nsb](const std::uint8_t* row, const std::int8_t* xq, const float* d8, const float* s8) {
        const __m256i low4 = _mm256_set1_epi8(0x0F);
        __m256 acc = _mm256_setzero_ps();
        for (std::int64_t sb = 0; sb < nsb; ++sb) {
          const std::uint8_t* block = row + sb * kQ4KBlockBytes;
          std::uint8_t sm[16];
          unpack_q4_k_scales(block + 4, sm);
          // d * sc_j and dmin * m_j / 8 (8 lanes of d_x * sum(x_q) add up to 8 times it).
          const __m128i packed_sm = _mm_loadu_si128(reinterpret_cast<const __m128i*>(sm));
          const __m256 scales = _mm256_mul_ps(_mm256_set1_ps(half_at(block)),
                                              _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(packed_sm)));
          const __m256 mins =
              _mm256_mul_ps(_mm256_set1_ps(half_at(block + 2) * 0.125f),
                            _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(packed_sm, 8))));
          for (int j = 0; j < 8; j += 2) {
            // 32 bytes: sub-block j in the low nibbles, j + 1 in the high ones.
            const __m256i packed = load256(block + 16 + 16 * j);
            const __m256i codes[2] = {_mm256_and_si256(packed, low4),
                                      _mm256_and_si256(_mm256_srli_epi16(packed, 4), low4)};
            for (int h = 0; h < 2; ++h) {
              const std::int64_t b = sb * 8 + j + h;
              const __m256i lane = _mm256_set1_epi32(j + h);
              const __m256i dot = dot_u8_s8(codes[h], load256(xq + b * 32));
              const __m256 dx = _mm256_loadu_ps(d8 + b * 8);
              acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot),
                                    _mm256_mul_ps(_mm256_permutevar8x32_ps(scales, lane), dx), acc);
              acc = _mm256_fnmadd_ps(_mm256_permutevar8x32_ps(mins, lane),
                                     _mm256_loadu_ps(s8 + b * 8), acc);
            }
          }
        }
        return hsum(acc);
      });
}

void matmul_q6_k_avx2(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                      std::int64_t n_end, float* y, std::int64_t ldy) {
  const std::int64_t nsb = x.k / 256;
  each_output(
      w, nsb * kQ6KBlockBytes, x, n_begin, n_end, y, ldy,
      [nsb](const std::uint8_t* row, const std::int8_t* xq, const float* d8, const float*) {
        const __m256i low4 = _mm256_set1_epi8(0x0F), low2 = _mm256_set1_epi8(3);
        const __m256i offset = _mm256_set1_epi8(32);
        __m256 acc = _mm256_setzero_ps();
        for (std::int64_t sb = 0; sb < nsb; ++sb) {
          const std::uint8_t* block = row + sb * kQ6KBlockBytes;
          const auto* sc = reinterpret_cast<const std::int8_t*>(block + 192);
          const __m256 d = _mm256_set1_ps(half_at(block + 208));
          for (int half = 0; half < 2; ++half) {
            const __m256i ql0 = load256(block + 64 * half);
            const __m256i ql1 = load256(block + 64 * half + 32);
            const __m256i qh = load256(block + 128 + 32 * half);
            auto high = [&](int shift) {
              return _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, shift), low2), 4);
            };
            const __m256i codes[4] = {
                _mm256_or_si256(_mm256_and_si256(ql0, low4), high(0)),
                _mm256_or_si256(_mm256_and_si256(ql1, low4), high(2)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4), high(4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4), high(6))};
            for (int g = 0; g < 4; ++g) {
              const std::int64_t b = sb * 8 + 4 * half + g;
              const int j = 2 * (4 * half + g);  // its two sub-blocks of 16: j, j + 1
              const __m256i xv = load256(xq + b * 32);
              const __m256i pairs = _mm256_sub_epi16(_mm256_maddubs_epi16(codes[g], xv),
                                                     _mm256_maddubs_epi16(offset, xv));
              const __m256i scales =
                  _mm256_set_m128i(_mm_set1_epi16(sc[j + 1]), _mm_set1_epi16(sc[j]));
              const __m256i dot = _mm256_madd_epi16(pairs, scales);
              acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot),
                                    _mm256_mul_ps(d, _mm256_loadu_ps(d8 + b * 8)), acc);
            }
          }
        }
        return hsum(acc);
      });
}

}  // namespace enclave::quant_simd
