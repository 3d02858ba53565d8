// GgufFile: a GGUF v2/v3 file (llama.cpp's format) read through a memory
// map and checked before anything is trusted: magic and version (a
// byte-swapped file is named as such), counts bounded by the bytes left
// before any allocation, string and array lengths with checked arithmetic,
// no nested arrays, known value and ggml types, 1-4 dims each in
// [1, 2^40] with an element count that cannot overflow, general.alignment a
// u32 power of two in [8, 2^16], tensor offsets equal to the aligned running
// total and inside the file, and at most kMaxTensors tensors and
// kMaxMetadata keys (RELIABILITY.md 10-18). Every failure is
// Error(kInvalidInput) naming the file, the byte offset and the field.
// Torch-free. Thread safety: immutable after construction.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/file.h"
#include "model/gguf_writer.h"

namespace enclave {

struct GgufValue;
using GgufArray = std::vector<GgufValue>;
struct GgufValue {
  // u8..u64, i8..i64 and bool as integers; f32/f64 as double.
  std::variant<std::int64_t, std::uint64_t, double, bool, std::string, GgufArray> v;
  std::uint32_t type = 0;  // gguf_type of the value (the element type for arrays)
  bool is_array() const { return std::holds_alternative<GgufArray>(v); }
};

struct GgufTensor {
  std::string name;
  GgmlType type;
  std::vector<std::uint64_t> shape;  // Hugging Face order (outermost first)
  std::uint64_t n_elements = 0;
  std::span<const std::uint8_t> data;
};

class GgufFile {
 public:
  static constexpr std::uint64_t kMaxTensors = 1 << 16;
  static constexpr std::uint64_t kMaxMetadata = 1 << 16;

  explicit GgufFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const GgufValue* find(const std::string& key) const;
  // Typed access; Error(kInvalidInput) naming the key when it is missing
  // (unless a fallback is given) or of another type.
  std::string get_string(const std::string& key) const;
  std::uint64_t get_uint(const std::string& key) const;
  std::uint64_t get_uint(const std::string& key, std::uint64_t fallback) const;
  double get_float(const std::string& key, double fallback) const;
  std::vector<std::string> get_strings(const std::string& key) const;
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* tensor(const std::string& name) const;

 private:
  std::filesystem::path path_;
  std::unique_ptr<MappedFile> map_;
  std::map<std::string, GgufValue, std::less<>> meta_;
  std::vector<GgufTensor> tensors_;
};

// n elements of `data` (of `type`) as float32, ggml's dequantisers.
void ggml_decode(GgmlType type, std::span<const std::uint8_t> data, std::span<float> out);

}  // namespace enclave
