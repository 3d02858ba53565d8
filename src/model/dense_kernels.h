// Matrix products with few activation rows (decode) for unquantised
// weights: float32 or bfloat16 rows, activations float32, sums in float32.
// bfloat16 weights widen to float32 in registers (a 16-bit shift), so the
// products are those of the float32 weights, and reading a bf16 matrix
// costs half the memory traffic of a float32 one. Tiles of four weight rows
// share each activation load. AVX-512, AVX2 and scalar paths, chosen as the
// quantised kernels' (quant_isa()); dense_matmul_rows_on runs one path
// (tests compare them).
// Torch-free. Thread safety: reentrant.
#pragma once

#include <cstdint>

#include "model/quant_kernels.h"

namespace enclave {

enum class DenseType { kF32, kBF16 };

// y[r * ldy + n] = sum over i < k of x[r * k + i] * W[n * k + i] for every
// row r < m of x and n in [n_begin, n_end). w: (N, k) row-major, float or
// uint16_t (bfloat16 bits) by type.
void dense_matmul_rows(DenseType type, const void* w, std::int64_t k, const float* x,
                       std::int64_t m, std::int64_t n_begin, std::int64_t n_end, float* y,
                       std::int64_t ldy);
void dense_matmul_rows_on(QuantIsa isa, DenseType type, const void* w, std::int64_t k,
                          const float* x, std::int64_t m, std::int64_t n_begin, std::int64_t n_end,
                          float* y, std::int64_t ldy);

// Row n of W as float32 (an embedding lookup).
void dense_row(DenseType type, const void* w, std::int64_t k, std::int64_t n, float* out);

}  // namespace enclave
