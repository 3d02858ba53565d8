// Conversion between stored tensor bytes (safetensors little-endian F32,
// F16, BF16, F64) and float32 working buffers. Merging reads each source
// tensor into f32, computes, and converts once to the output dtype:
// F32 -> BF16/F16 rounds to nearest even (as torch's .to() does), keeps NaN
// a NaN and overflows F16 to infinity. Stored bytes may be unaligned (a
// safetensors tensor can follow one of a smaller dtype), so they are read
// with memcpy.
// Torch-free. Thread safety: stateless functions.
#pragma once

#include <cstdint>
#include <span>

#include "model/dtype.h"

namespace enclave {

// True for the dtypes these functions convert (F32, F16, BF16, F64).
bool is_float_dtype(DType dtype);

// bytes holds out.size() elements of dtype. Throws Error(kInvalidInput) on
// a size mismatch or a non-float dtype.
void to_f32(DType dtype, std::span<const std::uint8_t> bytes, std::span<float> out);

// Writes in.size() elements of dtype into out (in.size() * dtype_size bytes).
void from_f32(std::span<const float> in, DType dtype, std::span<std::uint8_t> out);

// Single values, exposed for tests.
float bf16_to_f32(std::uint16_t bits);
std::uint16_t f32_to_bf16(float value);
float f16_to_f32(std::uint16_t bits);
std::uint16_t f32_to_f16(float value);

}  // namespace enclave
