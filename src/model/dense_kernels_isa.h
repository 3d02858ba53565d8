// The instruction-set-specific halves of dense_kernels.cpp, each built with
// its own -m flags (as quant_kernels_isa.h). Internal to dense_kernels.cpp.
#pragma once

#include <cstdint>

namespace enclave::dense_simd {

// As dense_matmul_rows, for float32 (w32) or bfloat16 (w16) weights.
void matmul_f32_avx512(const float* w, std::int64_t k, const float* x, std::int64_t m,
                       std::int64_t n_begin, std::int64_t n_end, float* y, std::int64_t ldy);
void matmul_bf16_avx512(const std::uint16_t* w, std::int64_t k, const float* x, std::int64_t m,
                        std::int64_t n_begin, std::int64_t n_end, float* y, std::int64_t ldy);
void matmul_f32_avx2(const float* w, std::int64_t k, const float* x, std::int64_t m,
                     std::int64_t n_begin, std::int64_t n_end, float* y, std::int64_t ldy);
void matmul_bf16_avx2(const std::uint16_t* w, std::int64_t k, const float* x, std::int64_t m,
                      std::int64_t n_begin, std::int64_t n_end, float* y, std::int64_t ldy);

}  // namespace enclave::dense_simd
