#include "model/float_convert.h"

#include <bit>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace enclave {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

bool is_float_dtype(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16 ||
         dtype == DType::kF64;
}

float bf16_to_f32(std::uint16_t bits) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

std::uint16_t f32_to_bf16(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  if (std::isnan(value))
    return static_cast<std::uint16_t>((bits >> 16) | 0x0040);  // stay a (quiet) NaN
  // Round to nearest, ties to even: add 0x7FFF plus the lowest kept bit.
  const std::uint32_t rounding = 0x7FFF + ((bits >> 16) & 1);
  return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

float f16_to_f32(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1F;
  std::uint32_t mant = h & 0x3FF;
  if (exp == 0x1F) return std::bit_cast<float>(sign | 0x7F800000 | (mant << 13));  // inf / NaN
  if (exp == 0) {
    if (mant == 0) return std::bit_cast<float>(sign);
    // Subnormal: mant * 2^-24.
    const float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

std::uint16_t f32_to_f16(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  const std::uint16_t sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000);
  if (std::isnan(value)) return sign | 0x7E00;
  const float a = std::fabs(value);
  if (a >= 65520.0f) return sign | 0x7C00;  // rounds past the largest half (65504) -> inf
  if (a < 0x1p-14f) {
    // Subnormal half: a / 2^-24 rounded to nearest even.
    const float scaled = a * 0x1p24f;
    return sign | static_cast<std::uint16_t>(std::nearbyint(scaled));
  }
  const std::uint32_t abits = std::bit_cast<std::uint32_t>(a);
  // Re-bias the exponent (127 -> 15) and round the 23-bit mantissa to 10 bits.
  std::uint32_t h = ((abits >> 23) - 112) << 10 | ((abits >> 13) & 0x3FF);
  const std::uint32_t rest = abits & 0x1FFF;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
    ++h;  // may carry into the exponent, which is right
  return sign | static_cast<std::uint16_t>(h);
}

void to_f32(DType dtype, std::span<const std::uint8_t> bytes, std::span<float> out) {
  if (!is_float_dtype(dtype)) {
    fail_input("dtype {} is not a float type; only F32, F16, BF16 and F64 tensors can be merged",
               dtype_safetensors_name(dtype));
  }
  const std::size_t size = dtype_size(dtype);
  if (bytes.size() != out.size() * size) {
    fail_input("tensor data is {} bytes, expected {} for {} elements of {}", bytes.size(),
               out.size() * size, out.size(), dtype_safetensors_name(dtype));
  }
  const std::uint8_t* p = bytes.data();
  switch (dtype) {
    case DType::kF32:
      std::memcpy(out.data(), p, bytes.size());
      break;
    case DType::kF64:
      for (std::size_t i = 0; i < out.size(); ++i) {
        double d;
        std::memcpy(&d, p + 8 * i, 8);
        out[i] = static_cast<float>(d);
      }
      break;
    case DType::kBF16:
    case DType::kF16: {
      const bool bf16 = dtype == DType::kBF16;
      for (std::size_t i = 0; i < out.size(); ++i) {
        std::uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = bf16 ? bf16_to_f32(h) : f16_to_f32(h);
      }
      break;
    }
    default:
      ENCLAVE_CHECK(false);
  }
}

void from_f32(std::span<const float> in, DType dtype, std::span<std::uint8_t> out) {
  ENCLAVE_CHECK(is_float_dtype(dtype));
  ENCLAVE_CHECK(out.size() == in.size() * dtype_size(dtype));
  std::uint8_t* p = out.data();
  switch (dtype) {
    case DType::kF32:
      std::memcpy(p, in.data(), out.size());
      break;
    case DType::kF64:
      for (std::size_t i = 0; i < in.size(); ++i) {
        const double d = in[i];
        std::memcpy(p + 8 * i, &d, 8);
      }
      break;
    case DType::kBF16:
    case DType::kF16: {
      const bool bf16 = dtype == DType::kBF16;
      for (std::size_t i = 0; i < in.size(); ++i) {
        const std::uint16_t h = bf16 ? f32_to_bf16(in[i]) : f32_to_f16(in[i]);
        std::memcpy(p + 2 * i, &h, 2);
      }
      break;
    }
    default:
      ENCLAVE_CHECK(false);
  }
}

}  // namespace enclave
