// The instruction-set-specific halves of quant_kernels.cpp, each compiled in
// its own translation unit with its own -m flags (quant_kernels_avx2.cpp,
// quant_kernels_avx512.cpp). They take plain pointers and use no inline
// library templates, so no code built for a wider instruction set can be
// merged into code that runs on every CPU. Internal to quant_kernels.cpp.
// Thread safety: reentrant.
#pragma once

#include <cstdint>

#include "model/gguf_kquants.h"

namespace enclave::quant_simd {

// One quantised activation matrix as the kernels read it (see QuantizedRows).
struct Rows {
  const std::int8_t* q;  // (m, k)
  const float* d8;       // (m, k / 32, 8)
  const float* s8;       // (m, k / 32, 8)
  std::int64_t m, k;
};

// Super-block bytes: Q4_K: fp16 d, fp16 dmin, 12 bytes of scales and mins,
// 128 of codes; Q6_K: 128 ql, 64 qh, 16 int8 scales, fp16 d.
constexpr std::int64_t kQ4KBlockBytes = static_cast<std::int64_t>(kQ4KBytes);
constexpr std::int64_t kQ6KBlockBytes = static_cast<std::int64_t>(kQ6KBytes);

// A Q4_K super-block's eight 6-bit scales (out[0..7]) and mins (out[8..15])
// from its 12 packed bytes s (the layout in gguf_kquants.h), four at a time
// in 32-bit words as llama.cpp's kernels unpack them. static: each
// instruction-set file keeps its own copy, so none built for a wider set is
// shared.
static inline void unpack_q4_k_scales(const std::uint8_t* s, std::uint8_t* out) {
  constexpr std::uint32_t kLow6 = 0x3f3f3f3f, kLow4 = 0x0f0f0f0f, kLow2 = 0x03030303;
  std::uint32_t v[3], u[4];
  __builtin_memcpy(v, s, 12);
  u[0] = v[0] & kLow6;                                          // scales 0-3
  u[1] = (v[2] & kLow4) | (((v[0] >> 6) & kLow2) << 4);         // scales 4-7
  u[2] = v[1] & kLow6;                                          // mins 0-3
  u[3] = ((v[2] >> 4) & kLow4) | (((v[1] >> 6) & kLow2) << 4);  // mins 4-7
  __builtin_memcpy(out, u, 16);
}

// quantize_rows_q8's arithmetic on vectors, to the same bits: x (m, k)
// float32 -> q (m, k), d8 and s8 (m, k / 32, 8) as in QuantizedRows.
void quantize_rows_avx2(const float* x, std::int64_t m, std::int64_t k, std::int8_t* q, float* d8,
                        float* s8);
void quantize_rows_avx512(const float* x, std::int64_t m, std::int64_t k, std::int8_t* q, float* d8,
                          float* s8);

// y[r * ldy + n] for n in [n_begin, n_end), every row r; w: (N, k) blocks.
void matmul_q8_0_avx2(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                      std::int64_t n_end, float* y, std::int64_t ldy);
void matmul_q4_0_avx2(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                      std::int64_t n_end, float* y, std::int64_t ldy);
void matmul_q8_0_avx512(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                        std::int64_t n_end, float* y, std::int64_t ldy);
void matmul_q4_0_avx512(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                        std::int64_t n_end, float* y, std::int64_t ldy);
void matmul_q4_k_avx2(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                      std::int64_t n_end, float* y, std::int64_t ldy);
void matmul_q6_k_avx2(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                      std::int64_t n_end, float* y, std::int64_t ldy);
void matmul_q4_k_avx512(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                        std::int64_t n_end, float* y, std::int64_t ldy);
void matmul_q6_k_avx512(const std::uint8_t* w, const Rows& x, std::int64_t n_begin,
                        std::int64_t n_end, float* y, std::int64_t ldy);

// The block types in QuantType's order (this header does not include
// quant_kernels.h).
enum DequantType : int { kDequantQ8_0, kDequantQ4_0, kDequantQ4_K, kDequantQ6_K };
// `blocks` blocks of `type` at w decoded to float32 (or rounded to bf16
// bits) at out, as ggml_decode (quant_dequant_avx2.cpp).
void dequantize_avx2(int type, const std::uint8_t* w, std::int64_t blocks, float* out);
void dequantize_bf16_avx2(int type, const std::uint8_t* w, std::int64_t blocks, std::uint16_t* out);
// The same bf16 values, rounded by AVX512_BF16 (only where cpuid reports it).
void dequantize_bf16_avx512bf16(int type, const std::uint8_t* w, std::int64_t blocks,
                                std::uint16_t* out);

}  // namespace enclave::quant_simd
