// safetensors: the Hugging Face tensor file format
// (https://huggingface.co/docs/safetensors): 8-byte little-endian header
// length N, N bytes of JSON header {name: {dtype, shape, data_offsets}},
// optional "__metadata__" (string -> string), then the data bytes.
//
// The reader is torch-free and validates everything before trusting it
// (../shared/RELIABILITY.md cases 1-9): header size cap, UTF-8 JSON object,
// duplicate keys, known dtypes, non-negative integer shapes with checked
// multiplication, offsets that tile the data region exactly (no gaps, no
// overlap, no trailing or missing bytes).
//
// Format notes (what the reference implementation, huggingface/safetensors,
// writes and what we accept):
// - The header starts with '{' (no BOM, no leading spaces) and may end with
//   spaces: the reference writer pads it so 8 + N is a multiple of 8. Raw NUL
//   bytes anywhere in the header are rejected (nlohmann would stop at them).
// - Tensor entries hold exactly "dtype", "shape" and "data_offsets"; offsets
//   are relative to the data region. Keys may appear in any order; tensors()
//   lists them in data order. `[]` is a scalar, a 0 dim an empty tensor
//   (begin == end).
// - Dtypes the format defines but we do not load (F8_*, F6_*, F4, U16, U32,
//   U64, C64) give Error(kUnsupported); unknown names give kInvalidInput.
// - Data is 8-byte aligned at the start of the data region only; a tensor that
//   follows one of a smaller dtype may be unaligned, so read it with memcpy or
//   copy it (the reference writer sorts by dtype to avoid this; we keep the
//   caller's order).
// Thread safety: a SafetensorsFile is immutable after open and may be read
// from many threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/file.h"
#include "model/dtype.h"

namespace enclave {

// Largest header we accept (the format's own reference caps it at 100 MB).
inline constexpr std::uint64_t kSafetensorsMaxHeader = 100'000'000;

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t offset_begin = 0;  // relative to the start of the data region
  std::uint64_t offset_end = 0;
  std::uint64_t n_elements() const;
  std::uint64_t n_bytes() const { return offset_end - offset_begin; }
};

// Parsed, validated header. Throws Error(kInvalidInput) naming `what` (the
// file), the tensor and the reason. data_size is the number of bytes after
// the header; it must equal the end of the last tensor.
struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;  // in data order (sorted by offset_begin)
  std::map<std::string, std::string> metadata;
  std::uint64_t data_start = 0;  // file offset of the data region (8 + N)
};
SafetensorsHeader parse_safetensors(std::span<const std::uint8_t> file_bytes,
                                    std::string_view what);

// A memory-mapped, validated safetensors file.
class SafetensorsFile {
 public:
  // Throws Error(kNotFound) if missing, Error(kInvalidInput) if malformed.
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_.path(); }
  const std::vector<TensorInfo>& tensors() const { return header_.tensors; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  // nullptr if absent.
  const TensorInfo* find(std::string_view name) const;
  // The raw little-endian bytes of a tensor; valid while this object lives.
  std::span<const std::uint8_t> data(const TensorInfo& info) const;

 private:
  MappedFile file_;
  SafetensorsHeader header_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

// A tensor to write: raw little-endian bytes, which the caller keeps alive
// until write_safetensors returns.
struct TensorToWrite {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> shape;
  std::span<const std::uint8_t> bytes;  // size must equal n_elements * dtype_size
};

// Writes a safetensors file atomically (temp + rename). Tensors are stored in
// the given order, data 8-byte aligned via header padding with spaces as the
// reference implementation does. Throws Error(kInvalidInput) on a size/shape
// mismatch or duplicate name, Error(kIo) on write failure.
void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace enclave
