// AVX-512 VNNI kernels: two 32-weight blocks per 512-bit vector, each
// block's 32 byte products summed into its own 8 int32 lanes by vpdpbusd
// (unsigned x signed bytes), then scaled by the 8 lanes' d_w * d_x and
// accumulated in float. Q8_0 weights take the sign of x and meet |x| (a
// masked byte negation; ggml's Q8_0 codes are within [-127, 127], so
// negation never overflows); Q4_0 codes (0..15) are unsigned already and
// their -8 offset is subtracted as 8 * d_w * d_x * sum(x_q). A row with an
// odd number of blocks ends with one block on the 256-bit registers.
// Q4_K: a 32-byte run of codes holds two sub-blocks (low and high nibbles),
// one 512-bit vector against 64 activations; the mins are subtracted from
// the activation blocks' stored sums. Q6_K: codes rebuilt from ql and qh
// as on AVX2, 64 per vector, the -32 offset as a second vpdpbusd(32, x),
// and each 4-lane group (16 weights) scaled by its sub-block's d * sc.
// Built with -mavx512f/bw/vl/dq/vnni; only called when cpuid reports them.
#include <immintrin.h>

#include "model/quant_kernels_isa.h"

namespace enclave::quant_simd {
namespace {

inline short bits16(const std::uint8_t* p) {
  short h;
  __builtin_memcpy(&h, p, 2);
  return h;
}

inline __m256 scale_of(const std::uint8_t* block) {
  return _mm256_cvtph_ps(_mm_set1_epi16(bits16(block)));
}

// Lanes 0-7: the scale of block a, lanes 8-15: of block b.
inline __m512 scale_pair(const std::uint8_t* a, const std::uint8_t* b) {
  return _mm512_cvtph_ps(_mm256_set_m128i(_mm_set1_epi16(bits16(b)), _mm_set1_epi16(bits16(a))));
}

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

inline __m512i join(__m256i lo, __m256i hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

inline __m256i nibbles(const std::uint8_t* packed) {
  const __m128i p = _mm_loadu_si128(reinterpret_cast<const __m128i*>(packed));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(p, 4), p), _mm256_set1_epi8(0x0F));
}

inline float sum256(__m256 v) { return _mm512_reduce_add_ps(_mm512_zextps256_ps512(v)); }

inline float half_at(const std::uint8_t* p) {
  std::uint16_t h;
  __builtin_memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// 32 bytes of codes -> bytes 0-31: their low nibbles, 32-63: their high ones.
inline __m512i nibble_halves(const std::uint8_t* p) {
  const __m256i v = load256(p), low4 = _mm256_set1_epi8(0x0F);
  return join(_mm256_and_si256(v, low4), _mm256_and_si256(_mm256_srli_epi16(v, 4), low4));
}

}  // namespace

void matmul_q8_0_avx512(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                        std::int64_t n_end, float* y, std::int64_t ldy) {
  const std::int64_t nb = x.k / 32;
  each_output(
      w, nb * 34, x, n_begin, n_end, y, ldy,
      [nb](const std::uint8_t* row, const std::int8_t* xq, const float* d8, const float*) {
        const __m512i zero = _mm512_setzero_si512();
        __m512 acc = _mm512_setzero_ps();
        std::int64_t b = 0;
        for (; b + 2 <= nb; b += 2) {
          const std::uint8_t* b0 = row + b * 34;
          const __m512i wq = join(load256(b0 + 2), load256(b0 + 36));
          const __m512i xv = _mm512_loadu_si512(xq + b * 32);
          const __m512i sw = _mm512_mask_sub_epi8(wq, _mm512_movepi8_mask(xv), zero, wq);
          const __m512i dot = _mm512_dpbusd_epi32(zero, _mm512_abs_epi8(xv), sw);
          const __m512 scale = _mm512_mul_ps(scale_pair(b0, b0 + 34), _mm512_loadu_ps(d8 + b * 8));
          acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, acc);
        }
        float sum = _mm512_reduce_add_ps(acc);
        if (b < nb) {
          const std::uint8_t* block = row + b * 34;
          const __m256i wq = load256(block + 2);
          const __m256i xv = load256(xq + b * 32);
          const __m256i sw =
              _mm256_mask_sub_epi8(wq, _mm256_movepi8_mask(xv), _mm256_setzero_si256(), wq);
          const __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(xv), sw);
          sum += sum256(_mm256_mul_ps(_mm256_cvtepi32_ps(dot),
                                      _mm256_mul_ps(scale_of(block), _mm256_loadu_ps(d8 + b * 8))));
        }
        return sum;
      });
}

void matmul_q4_0_avx512(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                        std::int64_t n_end, float* y, std::int64_t ldy) {
  const std::int64_t nb = x.k / 32;
  each_output(
      w, nb * 18, x, n_begin, n_end, y, ldy,
      [nb](const std::uint8_t* row, const std::int8_t* xq, const float* d8, const float* s8) {
        const __m512i zero = _mm512_setzero_si512();
        __m512 acc = _mm512_setzero_ps();
        std::int64_t b = 0;
        for (; b + 2 <= nb; b += 2) {
          const std::uint8_t* b0 = row + b * 18;
          const __m512i codes = join(nibbles(b0 + 2), nibbles(b0 + 20));
          const __m512i dot = _mm512_dpbusd_epi32(zero, codes, _mm512_loadu_si512(xq + b * 32));
          const __m512 dw = scale_pair(b0, b0 + 18);
          acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot),
                                _mm512_mul_ps(dw, _mm512_loadu_ps(d8 + b * 8)), acc);
          // The -8 offset: 8 lanes of d_w * d_x * sum(x_q) add up to 8 times it.
          acc = _mm512_fnmadd_ps(dw, _mm512_loadu_ps(s8 + b * 8), acc);
        }
        float sum = _mm512_reduce_add_ps(acc);
        if (b < nb) {
          const std::uint8_t* block = row + b * 18;
          const __m256i dot =
              _mm256_dpbusd_epi32(_mm256_setzero_si256(), nibbles(block + 2), load256(xq + b * 32));
          const __m256 dw = scale_of(block);
          sum += sum256(
              _mm256_fnmadd_ps(dw, _mm256_loadu_ps(s8 + b * 8),
                               _mm256_mul_ps(_mm256_cvtepi32_ps(dot),
                                             _mm256_mul_ps(dw, _mm256_loadu_ps(d8 + b * 8)))));
        }
        return sum;
      });
}

void matmul_q4_k_avx512(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                        std::int64_t n_end, float* y, std::int64_t ldy) {
  const std::int64_t nsb = x.k / 256;
  each_output(
      w, nsb * kQ4KBlockBytes, x, n_begin, n_end, y, ldy,
      [nsb](const std::uint8_t* row, const std::int8_t* xq, const float* d8, const float* s8) {
        const __m512i zero = _mm512_setzero_si512();
        // Lanes 0-7 read sub-block j's value, lanes 8-15 sub-block j + 1's.
        const __m512i halves = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
        __m512 acc = _mm512_setzero_ps();
        for (std::int64_t sb = 0; sb < nsb; ++sb) {
          const std::uint8_t* block = row + sb * kQ4KBlockBytes;
          std::uint8_t sm[16];
          unpack_q4_k_scales(block + 4, sm);
          // Lanes 0-7: d * sc_j, lanes 8-15: dmin * m_j / 8 (8 lanes of d_x *
          // sum(x_q) add up to 8 times it).
          const __m512 scales = _mm512_mul_ps(
              _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(half_at(block)),
                                   _mm512_set1_ps(half_at(block + 2) * 0.125f)),
              _mm512_cvtepi32_ps(
                  _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sm)))));
          for (int j = 0; j < 8; j += 2) {
            const std::int64_t b = sb * 8 + j;  // activation blocks b, b + 1
            const __m512i lane = _mm512_add_epi32(halves, _mm512_set1_epi32(j));
            const __m512i codes = nibble_halves(block + 16 + 16 * j);
            const __m512i dot = _mm512_dpbusd_epi32(zero, codes, _mm512_loadu_si512(xq + b * 32));
            const __m512 scale =
                _mm512_mul_ps(_mm512_permutexvar_ps(lane, scales), _mm512_loadu_ps(d8 + b * 8));
            acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, acc);
            acc = _mm512_fnmadd_ps(
                _mm512_permutexvar_ps(_mm512_add_epi32(lane, _mm512_set1_epi32(8)), scales),
                _mm512_loadu_ps(s8 + b * 8), acc);
          }
        }
        return _mm512_reduce_add_ps(acc);
      });
}

void matmul_q6_k_avx512(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                        std::int64_t n_end, float* y, std::int64_t ldy) {
  const std::int64_t nsb = x.k / 256;
  each_output(
      w, nsb * kQ6KBlockBytes, x, n_begin, n_end, y, ldy,
      [nsb](const std::uint8_t* row, const std::int8_t* xq, const float* d8, const float*) {
        const __m512i zero = _mm512_setzero_si512();
        const __m512i offset = _mm512_set1_epi8(32);
        const __m256i low4 = _mm256_set1_epi8(0x0F), low2 = _mm256_set1_epi8(3);
        // Lane i of a 64-weight vector belongs to sub-block 4 * q + i / 4.
        const __m512i lane_group = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
        __m512 acc = _mm512_setzero_ps();
        for (std::int64_t sb = 0; sb < nsb; ++sb) {
          const std::uint8_t* block = row + sb * kQ6KBlockBytes;
          // d * sc for the 16 sub-blocks.
          const __m512 scales =
              _mm512_mul_ps(_mm512_set1_ps(half_at(block + 208)),
                            _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
                                _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 192)))));
          for (int half = 0; half < 2; ++half) {
            const __m256i ql0 = load256(block + 64 * half);
            const __m256i ql1 = load256(block + 64 * half + 32);
            const __m256i qh = load256(block + 128 + 32 * half);
            auto high = [&](int shift) {
              return _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, shift), low2), 4);
            };
            const __m512i codes[2] = {
                join(_mm256_or_si256(_mm256_and_si256(ql0, low4), high(0)),
                     _mm256_or_si256(_mm256_and_si256(ql1, low4), high(2))),
                join(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4), high(4)),
                     _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4), high(6)))};
            for (int p = 0; p < 2; ++p) {
              const int q = 2 * half + p;             // 64-weight quarter of the super-block
              const std::int64_t b = sb * 8 + 2 * q;  // activation blocks b, b + 1
              const __m512i xv = _mm512_loadu_si512(xq + b * 32);
              const __m512i dot = _mm512_sub_epi32(_mm512_dpbusd_epi32(zero, codes[p], xv),
                                                   _mm512_dpbusd_epi32(zero, offset, xv));
              const __m512 scale = _mm512_permutexvar_ps(
                  _mm512_add_epi32(lane_group, _mm512_set1_epi32(4 * q)), scales);
              acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot),
                                    _mm512_mul_ps(scale, _mm512_loadu_ps(d8 + b * 8)), acc);
            }
          }
        }
        return _mm512_reduce_add_ps(acc);
      });
}

}  // namespace enclave::quant_simd
