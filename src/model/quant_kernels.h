// Weight-only quantised matrix products on the CPU for ggml's Q8_0 and Q4_0
// block layouts (32 weights per block with an fp16 scale d: Q8_0 stores 32
// int8 q, w = d * q; Q4_0 stores 16 bytes of 4-bit codes c, element i in the
// low nibble of byte i and element i + 16 in its high nibble, w = d * (c - 8))
// and for the K-quant super-blocks of 256 weights of Q4_K_M files (Q4_K:
// w = d * sc_j * c - dmin * m_j per sub-block j of 32; Q6_K: w = d * sc_j *
// (c - 32) per sub-block of 16; layouts in gguf_kquants.h).
// Weights stay in these bytes (a view of the GGUF memory map, no repacking).
//
// y = x W^T is computed as llama.cpp's CPU backend does: each row of x is
// quantised to Q8 blocks once (amax / 127 per block of 32), and each output
// is a sum over blocks of d_w * d_x * (integer dot product of the 32 codes).
// The integer dot products run on AVX-512 VNNI (vpdpbusd on 256-bit
// vectors: unsigned x signed bytes, so Q8_0 weights take the sign of x and
// meet |x|; Q4_0 codes are already unsigned and the -8 offset starts the
// integer sum as -8 * sum(x_q)), on AVX2 (vpmaddubsw + vpmaddwd, llama.cpp's
// ggml_vec_dot_q8_0_q8_0), or on a plain scalar loop that every path must
// agree with. The vector paths compute four output rows at a time, sharing
// the activation loads, each row on its own accumulator, and prefetch the
// weights two such tiles ahead (quant_kernels_tiles.h).
// The K-quants meet the same per-32 Q8 activation blocks (llama.cpp uses
// Q8_K, one scale per 256): each Q4_K sub-block of 32 lines up with one
// activation block, so its term is d * sc_j * d_x * dot(c, x_q) - dmin *
// m_j * d_x * sum(x_q) (the second from the block's stored sum), and a Q6_K
// activation block covers two 16-weight sub-blocks whose integer dot
// products are scaled by sc before the float d * d_x. One activation
// format then serves every matrix of a layer whatever its type, and the
// finer activation scales lose less than Q8_K's, for one float multiply-add
// per 32 weights, what the Q4_0 kernel already spends. The path is chosen at
// run time from cpuid; set_quant_isa forces one (tests, benchmarks).
// quant_matmul_reference is the plain dequantise-then-matmul the fast paths
// are tested against.
// Torch-free. Thread safety: the kernels are reentrant; set_quant_isa changes
// process-wide state and must not race with running kernels.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "model/gguf_writer.h"

namespace enclave {

enum class QuantType { kQ8_0, kQ4_0, kQ4_K, kQ6_K };
enum class QuantIsa { kScalar, kAvx2, kAvx512 };

// Weights per activation block (the Q8 blocks x is quantised to).
constexpr std::int64_t kQuantBlock = 32;
// Weights per block of `type`: 32 (Q8_0, Q4_0) or 256 (Q4_K, Q6_K).
std::int64_t quant_block_size(QuantType type);
// Bytes of one block of `type`.
std::int64_t quant_block_bytes(QuantType type);
// Bytes of one row of k weights (k a multiple of quant_block_size).
std::int64_t quant_row_bytes(QuantType type, std::int64_t k);
std::string_view quant_type_name(QuantType type);  // "q8_0", "q4_0", "q4_k", "q6_k"
std::string_view quant_isa_name(QuantIsa isa);     // "scalar", "avx2", "avx512"
// The GGUF tensor type of `type`; the QuantType of a GGUF tensor type the
// kernels run, nullopt for any other.
GgmlType ggml_type_of(QuantType type);
std::optional<QuantType> quant_type_of(GgmlType type);

// The best path this CPU supports: kAvx512 with AVX512F/BW/VL/VNNI, kAvx2
// with AVX2/FMA/F16C, else kScalar.
QuantIsa detect_quant_isa();
// The path the kernels use now (detect_quant_isa() unless forced).
QuantIsa quant_isa();
// Forces a path. Throws Error(kUnsupported) when the CPU lacks it.
void set_quant_isa(QuantIsa isa);

// Rows of x quantised to Q8 blocks, laid out for the kernels: q (m, k) int8
// codes in [-127, 127]; per block b of row r, d8[(r * nb + b) * 8 + j] = d
// and s8[...] = d * sum(q of the block), each repeated 8 times so a vector
// lane group of 8 loads its block's value directly.
struct QuantizedRows {
  std::int64_t m = 0, k = 0;
  std::vector<std::int8_t> q;
  std::vector<float> d8, s8;
};
// x: (m, k) float32, row-major; k a multiple of 32 (ENCLAVE_CHECK). On the
// current path; every path writes the same bytes.
void quantize_rows_q8(const float* x, std::int64_t m, std::int64_t k, QuantizedRows& out);

// y[r * ldy + n] = sum over k of x[r] * W[n] for n in [n_begin, n_end) and
// every row r of x, on the current path. w: the weight matrix (N, k) in
// `type` blocks, row-major (quant_row_bytes per row); k a multiple of
// quant_block_size(type) (ENCLAVE_CHECK).
void quant_matmul_rows(QuantType type, const std::uint8_t* w, const QuantizedRows& x,
                       std::int64_t n_begin, std::int64_t n_end, float* y, std::int64_t ldy);
// The same on an explicit path (tests compare the paths).
void quant_matmul_rows_on(QuantIsa isa, QuantType type, const std::uint8_t* w,
                          const QuantizedRows& x, std::int64_t n_begin, std::int64_t n_end,
                          float* y, std::int64_t ldy);

// Rows [n_begin, n_end) of W as float32 into out ((n_end - n_begin) * k),
// on the current path (vectors unless scalar; the same values as
// ggml_decode up to the rounding of one fused multiply-add).
void dequantize_rows(QuantType type, const std::uint8_t* w, std::int64_t k, std::int64_t n_begin,
                     std::int64_t n_end, float* out);
// The same as bf16 bits, rounded to nearest even from the float32 values.
void dequantize_rows_bf16(QuantType type, const std::uint8_t* w, std::int64_t k,
                          std::int64_t n_begin, std::int64_t n_end, std::uint16_t* out);
// Both on an explicit path (tests compare the paths).
void dequantize_rows_on(QuantIsa isa, QuantType type, const std::uint8_t* w, std::int64_t k,
                        std::int64_t n_begin, std::int64_t n_end, float* out);
void dequantize_rows_bf16_on(QuantIsa isa, QuantType type, const std::uint8_t* w, std::int64_t k,
                             std::int64_t n_begin, std::int64_t n_end, std::uint16_t* out);

// The reference: W dequantised to float32, then y = x W^T in float64 sums
// (x not quantised). x: (m, k), w: (n, k) blocks -> y: (m, n).
std::vector<float> quant_matmul_reference(QuantType type, std::span<const std::uint8_t> w,
                                          std::span<const float> x, std::int64_t m, std::int64_t n,
                                          std::int64_t k);

// Encodes float32 rows as `type` (ggml's reference quantisers, as
// ggml_encode in gguf_writer.h): for tests and benchmarks.
std::vector<std::uint8_t> quantize_weights(QuantType type, std::span<const float> w);

}  // namespace enclave
