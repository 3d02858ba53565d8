// ShardedTensorWriter: writes a model's safetensors one tensor at a time,
// so a merge holds one output tensor in memory, not a model. Every name,
// dtype and shape is known before the first byte (the merge plan), so each
// shard's header is written first and the data streamed after it. Output
// is laid out as Hugging Face's save_pretrained does: one
// `model.safetensors`, or `model-0000i-of-0000n.safetensors` shards of at
// most max_shard_bytes of data (a larger tensor gets a shard of its own)
// plus `model.safetensors.index.json` ({"metadata": {"total_size"},
// "weight_map"}). Within a shard, tensors are ordered by element size
// (largest first, otherwise as given) so every tensor stays aligned to its
// element size. Each shard is an AtomicFile: it appears complete or not at
// all; a writer destroyed before finish() leaves no shard half written.
// Torch-free. Thread safety: one writer per thread.
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

namespace enclave::merge {

struct TensorSpec {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  std::uint64_t n_bytes() const;
};

class ShardedTensorWriter {
 public:
  // Plans the shards. Throws Error(kInvalidInput) for no tensors, a
  // duplicate name, a negative dim or zero max_shard_bytes.
  ShardedTensorWriter(std::filesystem::path dir, std::vector<TensorSpec> tensors,
                      std::uint64_t max_shard_bytes,
                      std::map<std::string, std::string> metadata = {{"format", "pt"}});
  ~ShardedTensorWriter();
  ShardedTensorWriter(const ShardedTensorWriter&) = delete;
  ShardedTensorWriter& operator=(const ShardedTensorWriter&) = delete;

  // The order write() takes the tensors in.
  const std::vector<TensorSpec>& write_order() const { return order_; }
  // Appends the next tensor (write_order()[n_written()]); bytes must be its
  // exact size (ENCLAVE_CHECK: a caller bug). Throws Error(kIo) on failure.
  void write(std::span<const std::uint8_t> bytes);
  std::size_t n_written() const { return next_; }
  // After the last tensor: writes the index of a sharded model. Throws
  // Error(kInternal) if tensors are missing.
  void finish();

  std::size_t n_shards() const { return shards_.size(); }
  std::uint64_t total_bytes() const { return total_bytes_; }

 private:
  struct Shard {
    std::string file_name;
    std::size_t begin = 0;  // range in order_
    std::size_t end = 0;
  };
  void open_shard(std::size_t s);

  std::filesystem::path dir_;
  std::map<std::string, std::string> metadata_;
  std::vector<TensorSpec> order_;
  std::vector<Shard> shards_;
  std::uint64_t total_bytes_ = 0;
  std::size_t next_ = 0;
  std::size_t shard_ = 0;
  std::unique_ptr<AtomicFile> file_;
  bool finished_ = false;
};

}  // namespace enclave::merge
