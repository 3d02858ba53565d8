#include "merge/tensor_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "model/weight_files.h"

namespace enclave::merge {

std::uint64_t TensorSpec::n_bytes() const {
  std::uint64_t n = dtype_size(dtype);
  for (std::int64_t d : shape) n *= static_cast<std::uint64_t>(d);
  return n;
}

ShardedTensorWriter::ShardedTensorWriter(std::filesystem::path dir, std::vector<TensorSpec> tensors,
                                         std::uint64_t max_shard_bytes,
                                         std::map<std::string, std::string> metadata)
    : dir_(std::move(dir)), metadata_(std::move(metadata)) {
  if (tensors.empty()) fail_input("{}: no tensors to write", dir_.string());
  if (max_shard_bytes == 0) fail_input("max_shard_bytes must be positive");
  std::set<std::string> names;
  for (const TensorSpec& t : tensors) {
    if (!names.insert(t.name).second)
      fail_input("{}: duplicate tensor name '{}'", dir_.string(), t.name);
    for (std::int64_t d : t.shape) {
      if (d < 0) fail_input("{}: tensor '{}' has a negative dim", dir_.string(), t.name);
    }
  }
  // Greedy shards in the given order, as save_pretrained does.
  std::vector<std::vector<TensorSpec>> groups(1);
  std::uint64_t group_bytes = 0;
  for (TensorSpec& t : tensors) {
    const std::uint64_t bytes = t.n_bytes();
    if (!groups.back().empty() && group_bytes + bytes > max_shard_bytes) {
      groups.emplace_back();
      group_bytes = 0;
    }
    group_bytes += bytes;
    total_bytes_ += bytes;
    groups.back().push_back(std::move(t));
  }
  for (std::size_t s = 0; s < groups.size(); ++s) {
    std::stable_sort(groups[s].begin(), groups[s].end(),
                     [](const TensorSpec& a, const TensorSpec& b) {
                       return dtype_size(a.dtype) > dtype_size(b.dtype);
                     });
    Shard shard;
    shard.file_name = groups.size() == 1
                          ? std::string(kSafetensorsSingle)
                          : fmt::format("model-{:05d}-of-{:05d}.safetensors", s + 1, groups.size());
    shard.begin = order_.size();
    for (TensorSpec& t : groups[s]) order_.push_back(std::move(t));
    shard.end = order_.size();
    shards_.push_back(shard);
  }
}

ShardedTensorWriter::~ShardedTensorWriter() = default;

void ShardedTensorWriter::open_shard(std::size_t s) {
  const Shard& shard = shards_[s];
  nlohmann::json header = nlohmann::json::object();
  std::uint64_t offset = 0;
  for (std::size_t i = shard.begin; i < shard.end; ++i) {
    const TensorSpec& t = order_[i];
    const std::uint64_t end = offset + t.n_bytes();
    header[t.name] = {{"dtype", dtype_safetensors_name(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, end}}};
    offset = end;
  }
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  std::string text = header.dump();
  // Pad with spaces so the data region starts 8-byte aligned, as the
  // reference implementation does.
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  const std::uint64_t n = text.size();
  std::uint8_t length[8];
  for (int b = 0; b < 8; ++b) length[b] = static_cast<std::uint8_t>(n >> (8 * b));
  file_ = std::make_unique<AtomicFile>(dir_ / shard.file_name);
  file_->write(length, sizeof(length));
  file_->write(text);
}

void ShardedTensorWriter::write(std::span<const std::uint8_t> bytes) {
  ENCLAVE_CHECK(!finished_ && next_ < order_.size());
  ENCLAVE_CHECK(bytes.size() == order_[next_].n_bytes());
  if (next_ == shards_[shard_].begin) open_shard(shard_);
  file_->write(bytes.data(), bytes.size());
  ++next_;
  if (next_ == shards_[shard_].end) {
    file_->commit();
    file_.reset();
    ++shard_;
  }
}

void ShardedTensorWriter::finish() {
  ENCLAVE_CHECK(next_ == order_.size());
  if (finished_) return;
  finished_ = true;
  if (shards_.size() == 1) return;
  nlohmann::json weight_map = nlohmann::json::object();
  for (const Shard& shard : shards_) {
    for (std::size_t i = shard.begin; i < shard.end; ++i)
      weight_map[order_[i].name] = shard.file_name;
  }
  nlohmann::json index = {{"metadata", {{"total_size", total_bytes_}}}, {"weight_map", weight_map}};
  write_file_atomic(dir_ / kSafetensorsIndex, index.dump(2) + "\n");
}

}  // namespace enclave::merge
