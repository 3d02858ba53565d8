// The matrix-vector kernels on 256-bit vectors, shared by the AVX2 and the
// AVX-512 VNNI files: each file supplies Dot, its integer dot product of
// unsigned and signed bytes (vpmaddubsw + vpmaddwd, or vpdpbusd), and
// instantiates these templates with its own -m flags. Everything here has
// internal linkage (an anonymous namespace), so no code built for one
// instruction set can be merged into the other's. Included only by those
// two files.
//
// Decoding reads every weight once per token, so the kernels are written to
// keep the weight stream moving: kTile output rows are computed together,
// sharing each activation block's loads (codes, d_x and its integer
// offsets), each row with its own accumulator (kTile independent
// floating-point chains instead of one), and the rows' sums reduced
// together at the end. A 32-weight block's products land in 8 int32 lanes
// (4 bytes per lane), are converted to float and scaled by d_w * d_x
// broadcast to the 8 lanes. Weights are read where they lie (a view of
// the GGUF file); nothing is repacked. Each row of x reruns the tile, whose
// weights are then in L1.
// Thread safety: reentrant.
#pragma once

#include <immintrin.h>

#include <algorithm>

#include "model/quant_kernels_isa.h"

namespace enclave::quant_simd {
namespace {

// Output rows computed together.
constexpr int kTile = 4;

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

inline short bits16(const std::uint8_t* p) {
  short h;
  __builtin_memcpy(&h, p, 2);
  return h;
}

inline int bits32(const std::uint8_t* p) {
  int v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

// The fp16 value at p in all 8 lanes.
inline __m256 half8(const std::uint8_t* p) { return _mm256_cvtph_ps(_mm_set1_epi16(bits16(p))); }

inline float half_at(const std::uint8_t* p) {
  return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<std::uint16_t>(bits16(p)))));
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// y[i] = the sum of acc[i]'s lanes, i < R; four at once by horizontal adds.
template <int R>
inline void store_sums(const __m256 (&acc)[R], float* y) {
  if constexpr (R == 4) {
    const __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(acc[0], acc[1]), _mm256_hadd_ps(acc[2], acc[3]));
    _mm_storeu_ps(y, _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1)));
  } else {
    for (int i = 0; i < R; ++i) y[i] = hsum(acc[i]);
  }
}

// The activation blocks b0 .. b0 + 7's value (d or d * sum(q)) from their
// 8-fold copies.
inline __m256 every_eighth(const float* v8) {
  return _mm256_i32gather_ps(v8, _mm256_set_epi32(56, 48, 40, 32, 24, 16, 8, 0), 4);
}

// Asks for the weight `ahead` bytes past p (the same place in the next
// tile): the hardware prefetchers alone leave the cores waiting on the
// weight stream.
inline void prefetch(const std::uint8_t* p, std::int64_t ahead) {
  _mm_prefetch(reinterpret_cast<const char*>(p + ahead), _MM_HINT_T0);
}

// Arguments of one tile: R rows of weights from `w` (row_bytes apart)
// against one row of x (its nb activation blocks), R outputs to y.
struct Tile {
  const std::uint8_t* w;
  std::int64_t row_bytes, nb;
  std::int64_t ahead;  // bytes from a weight to the one prefetched (the next tile's)
  const std::int8_t* xq;
  const float *d8, *s8;
  float* y;
};

// The fp16 values at p, p + stride, ..., p + 7 * stride as 8 floats.
inline __m256 halves8(const std::uint8_t* p, std::int64_t stride) {
  const __m256i at = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                        _mm256_set1_epi32(static_cast<int>(stride)));
  const __m256i words = _mm256_and_si256(
      _mm256_i32gather_epi32(reinterpret_cast<const int*>(p), at, 1), _mm256_set1_epi32(0xFFFF));
  return _mm256_cvtph_ps(
      _mm_packus_epi32(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1)));
}

// Q8_0 and Q4_0 (32-weight blocks led by their fp16 d): Codes gives the
// per-block integer dot products (and a last correction of the sums). The
// scales d_w * d_x of 8 blocks of a row are converted together (one gather
// of their fp16 values) and each block's taken from that register by a
// permute; the 8 blocks' cache lines are prefetched together. A row's last
// nb % 8 blocks do both one by one.
template <class Codes, int R>
void tile_32(const Tile& t) {
  constexpr std::int64_t kBytes = Codes::kBlockBytes;
  __m256 acc[R];
  for (int i = 0; i < R; ++i) acc[i] = _mm256_setzero_ps();
  __m256 scales[R];
  auto block_step = [&](std::int64_t b, auto&& scale_of) {
    const typename Codes::Activation x = Codes::activation(t.xq + b * 32);
    for (int i = 0; i < R; ++i) {
      const std::uint8_t* block = t.w + i * t.row_bytes + b * kBytes;
      acc[i] =
          _mm256_fmadd_ps(_mm256_cvtepi32_ps(Codes::dot(x, block)), scale_of(i, block), acc[i]);
    }
  };
  std::int64_t b = 0;
  for (; b + 8 <= t.nb; b += 8) {
    const __m256 dx = every_eighth(t.d8 + b * 8);
    for (int i = 0; i < R; ++i) {
      const std::uint8_t* blocks = t.w + i * t.row_bytes + b * kBytes;
      for (std::int64_t line = 0; line < 8 * kBytes; line += 64) prefetch(blocks + line, t.ahead);
      scales[i] = _mm256_mul_ps(halves8(blocks, kBytes), dx);
    }
    for (int j = 0; j < 8; ++j)
      block_step(b + j, [&](int i, const std::uint8_t*) {
        return _mm256_permutevar8x32_ps(scales[i], _mm256_set1_epi32(j));
      });
  }
  for (; b < t.nb; ++b) {
    const __m256 dx = _mm256_loadu_ps(t.d8 + b * 8);
    block_step(b, [&](int, const std::uint8_t* block) {
      prefetch(block, t.ahead);
      return _mm256_mul_ps(half8(block), dx);
    });
  }
  for (int i = 0; i < R; ++i) acc[i] = Codes::finish(acc[i]);
  store_sums<R>(acc, t.y);
}

// One activation block's codes as Q8_0 and Q4_0 meet them, with a vector
// of the kernel's own derived from them once for the tile.
struct Activation32 {
  __m256i x, derived;
};

template <class Codes>
struct Blocks32 {
  static constexpr std::int64_t kBlockWeights = 32;
  template <int R>
  static void tile(const Tile& t) {
    tile_32<Codes, R>(t);
  }
};

// Q8_0: |x| (derived) meets w with the sign of x (unsigned x signed bytes).
template <class Dot>
struct Q8_0 : Blocks32<Q8_0<Dot>> {
  static constexpr std::int64_t kBlockBytes = 34;
  using Activation = Activation32;
  static Activation activation(const std::int8_t* xb) {
    const __m256i x = load256(xb);
    return {x, _mm256_sign_epi8(x, x)};
  }
  static __m256i dot(const Activation& a, const std::uint8_t* block) {
    return Dot::dot(_mm256_setzero_si256(), a.derived, _mm256_sign_epi8(load256(block + 2), a.x));
  }
  static __m256 finish(__m256 acc) { return acc; }
};

// Q4_0: the 16 code bytes loaded into both 128-bit halves; the low half
// keeps the low nibbles (elements 0-15), the high half the high ones
// (16-31). With vpdpbusd, whose int32 sums cannot saturate, the high
// nibbles stay in place (16 times their value, undone on the float
// accumulator's lanes 4-7 at the end, exactly: a power of two) and save a
// shift; vpmaddubsw's int16 pairs would saturate, so on AVX2 they are
// shifted down. The -8 offset enters the integer sum as its starting value
// (derived) -8 (-128 in place) * (sum of each lane's 4 x codes), computed
// once per activation block for the tile.
template <class Dot>
struct Q4_0 : Blocks32<Q4_0<Dot>> {
  static constexpr std::int64_t kBlockBytes = 18;
  using Activation = Activation32;
  static Activation activation(const std::int8_t* xb) {
    const __m256i x = load256(xb);
    const __m256i eight = Dot::kNoSaturation
                              ? _mm256_set_m128i(_mm_set1_epi8(-128), _mm_set1_epi8(8))
                              : _mm256_set1_epi8(8);
    return {x,
            _mm256_sub_epi32(_mm256_setzero_si256(), Dot::dot(_mm256_setzero_si256(), eight, x))};
  }
  static __m256i dot(const Activation& a, const std::uint8_t* block) {
    const __m256i packed =
        _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 2)));
    const __m256i codes =
        Dot::kNoSaturation
            ? _mm256_and_si256(packed, _mm256_set_m128i(_mm_set1_epi8(-16), _mm_set1_epi8(0x0F)))
            : _mm256_and_si256(_mm256_srlv_epi32(packed, _mm256_set_epi32(4, 4, 4, 4, 0, 0, 0, 0)),
                               _mm256_set1_epi8(0x0F));
    return Dot::dot(a.derived, codes, a.x);
  }
  static __m256 finish(__m256 acc) {
    return Dot::kNoSaturation
               ? _mm256_mul_ps(acc, _mm256_set_ps(0.0625f, 0.0625f, 0.0625f, 0.0625f, 1, 1, 1, 1))
               : acc;
  }
};

// A Q4_K super-block's 12 packed bytes at s as unpack_q4_k_scales gives
// them (bytes 0-7 the scales, 8-15 the mins), on vector lanes: the bytes
// of a scalar unpacking stored and reloaded as a vector would wait on a
// failed store forward.
inline __m128i q4_k_scales_and_mins(const std::uint8_t* s) {
  constexpr int kLow6 = 0x3f3f3f3f, kLow4 = 0x0f0f0f0f, kLow2 = 0x03030303;
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));  // v0 v1 v2 (unused)
  const __m128i low = _mm_and_si128(
      _mm_srlv_epi32(_mm_shuffle_epi32(v, _MM_SHUFFLE(2, 1, 2, 0)), _mm_setr_epi32(0, 0, 0, 4)),
      _mm_setr_epi32(kLow6, kLow4, kLow6, kLow4));  // v0 & 6, v2 & 4, v1 & 6, v2 >> 4 & 4
  const __m128i top =
      _mm_slli_epi32(_mm_and_si128(_mm_srli_epi32(_mm_shuffle_epi32(v, _MM_SHUFFLE(1, 1, 0, 0)), 6),
                                   _mm_setr_epi32(0, kLow2, 0, kLow2)),
                     4);  // the top 2 bits of scales and mins 4-7
  return _mm_or_si128(low, top);
}

// Q4_K: per super-block and row, d * sc_j * d_x of its 8 sub-blocks go to a
// small array (each then broadcast by a load), and the mins' term dmin *
// sum_j m_j * (d_x * sum(x_q))_j is subtracted as one 8-lane product.
template <class Dot>
struct Q4_K {
  static constexpr std::int64_t kBlockWeights = 256;
  static constexpr std::int64_t kBlockBytes = kQ4KBlockBytes;
  template <int R>
  static void tile(const Tile& t) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256 acc[R];
    for (int i = 0; i < R; ++i) acc[i] = _mm256_setzero_ps();
    alignas(32) float scales[R][8];
    for (std::int64_t sb = 0; sb < t.nb / 8; ++sb) {
      const __m256 dx = every_eighth(t.d8 + sb * 64), sx = every_eighth(t.s8 + sb * 64);
      for (int i = 0; i < R; ++i) {
        const std::uint8_t* block = t.w + i * t.row_bytes + sb * kBlockBytes;
        // d, dmin, d, dmin, ...
        const __m256 d_dmin = _mm256_cvtph_ps(_mm_set1_epi32(bits32(block)));
        const __m128i sm = q4_k_scales_and_mins(block + 4);
        const __m256 sc = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(sm));
        const __m256 m = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_unpackhi_epi64(sm, sm)));
        _mm256_store_ps(scales[i],
                        _mm256_mul_ps(_mm256_mul_ps(sc, dx),
                                      _mm256_permutevar8x32_ps(d_dmin, _mm256_setzero_si256())));
        acc[i] = _mm256_fnmadd_ps(_mm256_mul_ps(m, sx),
                                  _mm256_permutevar8x32_ps(d_dmin, _mm256_set1_epi32(1)), acc[i]);
      }
      // 32 bytes: sub-block j in the low nibbles, j + 1 in the high ones.
#pragma GCC unroll 4
      for (int j = 0; j < 8; j += 2) {
        const std::int64_t b = sb * 8 + j;
        const __m256i x0 = load256(t.xq + b * 32), x1 = load256(t.xq + b * 32 + 32);
        for (int i = 0; i < R; ++i) {
          const std::uint8_t* codes = t.w + i * t.row_bytes + sb * kBlockBytes + 16 + 16 * j;
          prefetch(codes, t.ahead);
          const __m256i packed = load256(codes);
          const __m256i dot0 = Dot::dot(_mm256_setzero_si256(), _mm256_and_si256(packed, low4), x0);
          const __m256i dot1 = Dot::dot(_mm256_setzero_si256(),
                                        _mm256_and_si256(_mm256_srli_epi16(packed, 4), low4), x1);
          acc[i] =
              _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot0), _mm256_broadcast_ss(&scales[i][j]), acc[i]);
          acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot1), _mm256_broadcast_ss(&scales[i][j + 1]),
                                   acc[i]);
        }
      }
    }
    store_sums<R>(acc, t.y);
  }
};

// Q6_K: 6-bit codes rebuilt from ql and qh per activation block, the -32
// offset as the integer sum's start (as Q4_0's -8), and lanes 0-3 / 4-7
// (the block's two sub-blocks of 16) scaled by their own d * sc.
template <class Dot>
struct Q6_K {
  static constexpr std::int64_t kBlockWeights = 256;
  static constexpr std::int64_t kBlockBytes = kQ6KBlockBytes;
  template <int R>
  static void tile(const Tile& t) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), bits45 = _mm256_set1_epi8(0x30);
    const __m256i thirty_two = _mm256_set1_epi8(32);
    __m256 acc[R];
    for (int i = 0; i < R; ++i) acc[i] = _mm256_setzero_ps();
    __m256 scales[R][2];  // d * sc of sub-blocks 0-7 and 8-15
    for (std::int64_t sb = 0; sb < t.nb / 8; ++sb) {
      for (int i = 0; i < R; ++i) {
        const std::uint8_t* block = t.w + i * t.row_bytes + sb * kBlockBytes;
        const __m256 d = _mm256_set1_ps(half_at(block + 208));
        for (int h = 0; h < 2; ++h)
          scales[i][h] = _mm256_mul_ps(
              d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(
                     _mm_loadl_epi64(reinterpret_cast<const __m128i*>(block + 192 + 8 * h)))));
      }
      // Unrolled, so that each g's shifts and lanes are constants.
#pragma GCC unroll 8
      for (int g = 0; g < 8; ++g) {  // activation block g of the super-block: half g / 4
        const std::int64_t b = sb * 8 + g;
        const int q = g % 4;  // sub-blocks 2q, 2q + 1 of scales[.][g / 4]
        const __m256i lanes = _mm256_set_epi32(2 * q + 1, 2 * q + 1, 2 * q + 1, 2 * q + 1, 2 * q,
                                               2 * q, 2 * q, 2 * q);
        const __m256i xv = load256(t.xq + b * 32);
        const __m256i offset = _mm256_sub_epi32(_mm256_setzero_si256(),
                                                Dot::dot(_mm256_setzero_si256(), thirty_two, xv));
        const __m256 dx = _mm256_loadu_ps(t.d8 + b * 8);
        for (int i = 0; i < R; ++i) {
          const std::uint8_t* block = t.w + i * t.row_bytes + sb * kBlockBytes;
          const __m256i ql = load256(block + 64 * (g / 4) + 32 * (q % 2));
          if (g % 2 == 0) prefetch(block + 32 * g, t.ahead);
          const __m256i qh = load256(block + 128 + 32 * (g / 4));
          const __m256i low = _mm256_and_si256(q < 2 ? ql : _mm256_srli_epi16(ql, 4), low4);
          // Bits 2q, 2q + 1 of qh moved to bits 4, 5 (16-bit shifts: what
          // crosses a byte is masked off).
          const __m256i high = _mm256_and_si256(
              q == 2 ? qh : (q < 2 ? _mm256_slli_epi16(qh, 4 - 2 * q) : _mm256_srli_epi16(qh, 2)),
              bits45);
          const __m256i dot = Dot::dot(offset, _mm256_or_si256(low, high), xv);
          const __m256 scale = _mm256_permutevar8x32_ps(scales[i][g / 4], lanes);
          acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(scale, dx), acc[i]);
        }
      }
    }
    store_sums<R>(acc, t.y);
  }
};

// quantize_rows_q8 on vectors: per block amax / 127 and the codes rounded
// to nearest even (vcvtps2dq in the default rounding mode, as
// std::nearbyint), so the bytes are the scalar loop's.
inline void quantize_blocks(const float* x, std::int64_t n_blocks, std::int8_t* q, float* d8,
                            float* s8) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (std::int64_t b = 0; b < n_blocks; ++b) {
    __m256 v[4];
    for (int i = 0; i < 4; ++i) v[i] = _mm256_loadu_ps(x + b * 32 + 8 * i);
    __m256 amax =
        _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v[0], abs_mask), _mm256_and_ps(v[1], abs_mask)),
                      _mm256_max_ps(_mm256_and_ps(v[2], abs_mask), _mm256_and_ps(v[3], abs_mask)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float d = _mm_cvtss_f32(m4) / 127.0f;
    const __m256 id = _mm256_set1_ps(d != 0 ? 1.0f / d : 0.0f);
    __m256i c[4];
    for (int i = 0; i < 4; ++i) c[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], id));
    const __m256i sum4 =
        _mm256_add_epi32(_mm256_add_epi32(c[0], c[1]), _mm256_add_epi32(c[2], c[3]));
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(sum4), _mm256_extracti128_si256(sum4, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    // Packing works within 128-bit halves: the dwords come out as 0 2 4 6 1 3 5 7.
    const __m256i bytes =
        _mm256_packs_epi16(_mm256_packs_epi32(c[0], c[1]), _mm256_packs_epi32(c[2], c[3]));
    _mm256_storeu_si256(
        reinterpret_cast<__m256i*>(q + b * 32),
        _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    _mm256_storeu_ps(d8 + b * 8, _mm256_set1_ps(d));
    _mm256_storeu_ps(s8 + b * 8, _mm256_set1_ps(d * static_cast<float>(_mm_cvtsi128_si32(s))));
  }
}

// y[r * ldy + n] for n in [n_begin, n_end) and every row r of x, by Kernel
// (one of the above) kTile output rows at a time, the last tile narrower.
template <class Kernel>
void each_tile(const std::uint8_t* w, const Rows& x, std::int64_t n_begin, std::int64_t n_end,
               float* y, std::int64_t ldy) {
  const std::int64_t nb = x.k / 32;
  const std::int64_t row_bytes = x.k / Kernel::kBlockWeights * Kernel::kBlockBytes;
  for (std::int64_t n = n_begin; n < n_end; n += kTile) {
    const std::int64_t count = std::min<std::int64_t>(kTile, n_end - n);
    for (std::int64_t r = 0; r < x.m; ++r) {
      const Tile t{.w = w + n * row_bytes,
                   .row_bytes = row_bytes,
                   .nb = nb,
                   .ahead = 2 * kTile * row_bytes,
                   .xq = x.q + r * x.k,
                   .d8 = x.d8 + r * nb * 8,
                   .s8 = x.s8 + r * nb * 8,
                   .y = y + r * ldy + n};
      switch (count) {
        case 4:
          Kernel::template tile<4>(t);
          break;
        case 3:
          Kernel::template tile<3>(t);
          break;
        case 2:
          Kernel::template tile<2>(t);
          break;
        default:
          Kernel::template tile<1>(t);
          break;
      }
    }
  }
}

}  // namespace
}  // namespace enclave::quant_simd
