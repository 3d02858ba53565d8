// Element types of stored tensors (safetensors names) and their sizes.
// Torch-free so parsers and tools can use it without libtorch headers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace enclave {

enum class DType { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

// "F32" -> kF32 ...; nullopt for names we do not know (e.g. "F8_E4M3").
std::optional<DType> dtype_from_safetensors(std::string_view name);
// kF32 -> "F32".
std::string_view dtype_safetensors_name(DType dtype);
// Size of one element in bytes.
std::size_t dtype_size(DType dtype);

}  // namespace enclave
