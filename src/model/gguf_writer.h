// GgufWriter: writes a GGUF v3 file (llama.cpp's model format): metadata
// key/value pairs, then tensor infos, then the tensor data, each tensor at
// an offset aligned to general.alignment (32 bytes). Tensors are given in
// Hugging Face order (row-major, dims outermost first); GGUF stores dims
// innermost first, so they are written reversed. Data is streamed to a temp
// file published on commit (nothing half-written is ever visible).
// Torch-free. Thread safety: one writer per thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace enclave {

// ggml tensor types Enclave writes.
enum class GgmlType : std::uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ8_0 = 8,
  kQ4_K = 12,
  kQ6_K = 14,
  kBF16 = 30
};

// "f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q6_k".
std::string_view ggml_type_name(GgmlType type);
// Bytes of n elements (n a multiple of the block size for quantised types).
std::uint64_t ggml_nbytes(GgmlType type, std::uint64_t n);
// Elements per block: 1, 32 for Q8_0 and Q4_0, 256 for Q4_K and Q6_K.
std::uint64_t ggml_block_size(GgmlType type);

// Encodes n float32 values as `type` (appends to out). Q8_0 and Q4_0 follow
// ggml's reference quantisers (quantize_row_q8_0_ref / q4_0_ref): per block
// of 32, an fp16 scale d and 32 int8 (round(x / d), d = amax / 127) or 16
// bytes of 4-bit codes (x / d + 8.5 truncated, d = max / -8). Q4_K and
// Q6_K: gguf_kquants.h.
void ggml_encode(GgmlType type, std::span<const float> values, std::vector<std::uint8_t>& out);

class GgufWriter {
 public:
  void add_string(const std::string& key, std::string_view value);
  void add_u32(const std::string& key, std::uint32_t value);
  void add_i32(const std::string& key, std::int32_t value);
  void add_f32(const std::string& key, float value);
  void add_bool(const std::string& key, bool value);
  void add_strings(const std::string& key, const std::vector<std::string>& values);
  void add_i32s(const std::string& key, const std::vector<std::int32_t>& values);
  void add_f32s(const std::string& key, const std::vector<float>& values);

  // A tensor whose bytes `fill` appends when the file is written (so only
  // one tensor's data is in memory at a time). shape in HF order.
  using Fill = std::function<void(std::vector<std::uint8_t>& out)>;
  void add_tensor(const std::string& name, GgmlType type, std::vector<std::uint64_t> shape,
                  Fill fill);

  // Writes the file (temp + rename). Throws Error(kIo) naming the path, and
  // Error(kInternal) when a tensor's filled bytes differ from its size.
  void write(const std::filesystem::path& path) const;

  std::size_t n_tensors() const { return tensors_.size(); }

 private:
  struct Tensor {
    std::string name;
    GgmlType type;
    std::vector<std::uint64_t> shape;
    Fill fill;
  };
  std::string kv_;  // encoded key/value pairs
  std::uint64_t n_kv_ = 0;
  std::vector<Tensor> tensors_;
  void key(const std::string& key, std::uint32_t type);
};

}  // namespace enclave
