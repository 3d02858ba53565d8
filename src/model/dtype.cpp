#include "model/dtype.h"

#include <array>

#include "core/error.h"

namespace enclave {
namespace {

struct DTypeEntry {
  DType dtype;
  std::string_view name;
  std::size_t size;
};

// The one table both directions read from, so names and sizes cannot drift.
constexpr std::array<DTypeEntry, 10> kDTypes{{
    {DType::kF64, "F64", 8},
    {DType::kF32, "F32", 4},
    {DType::kF16, "F16", 2},
    {DType::kBF16, "BF16", 2},
    {DType::kI64, "I64", 8},
    {DType::kI32, "I32", 4},
    {DType::kI16, "I16", 2},
    {DType::kI8, "I8", 1},
    {DType::kU8, "U8", 1},
    {DType::kBool, "BOOL", 1},
}};

const DTypeEntry& entry(DType dtype) {
  for (const DTypeEntry& e : kDTypes) {
    if (e.dtype == dtype) return e;
  }
  // Every enumerator is in the table; only a cast from an arbitrary integer
  // gets here.
  fail(ErrorKind::kInternal, "invalid DType value {}", static_cast<int>(dtype));
}

}  // namespace

std::optional<DType> dtype_from_safetensors(std::string_view name) {
  for (const DTypeEntry& e : kDTypes) {
    if (e.name == name) return e.dtype;
  }
  return std::nullopt;
}

std::string_view dtype_safetensors_name(DType dtype) { return entry(dtype).name; }

std::size_t dtype_size(DType dtype) { return entry(dtype).size; }

}  // namespace enclave
