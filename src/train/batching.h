// Which examples each optimiser step sees, and how they are cut into
// micro-batches. DataOrder walks a seeded permutation per epoch (the same
// seed gives the same order on every process and after a resume); a step
// takes the next batch_size indices, possibly crossing into the next epoch.
// With data parallelism each process takes every world_size-th index of the
// step's batch. Micro-batches bound padded tokens (rows x longest row) by a
// token budget, so memory stays flat whatever the lengths; a step with more
// than one micro-batch accumulates gradients.
// Torch-free. Thread safety: DataOrder is a plain mutable value.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace enclave::train {

struct DataPosition {
  std::int64_t epoch = 0;
  std::int64_t index = 0;  // next position in the epoch's permutation
};

class DataOrder {
 public:
  // Throws Error(kInvalidInput) for an empty data set.
  DataOrder(std::size_t n_examples, std::uint64_t seed);
  // The next n indices, advancing the position.
  std::vector<std::size_t> next(std::size_t n);
  DataPosition position() const { return position_; }
  // Throws Error(kInvalidInput) for a position outside the data.
  void seek(DataPosition position);
  std::size_t size() const { return n_; }

 private:
  void build_permutation();

  std::size_t n_;
  std::uint64_t seed_;
  DataPosition position_;
  // The permutation of position_.epoch, in 32-bit indices while the data
  // has fewer than 2^32 examples (a large pretraining set has millions of
  // sequences: 4 bytes each, not 8), else in 64-bit ones.
  std::vector<std::uint32_t> permutation32_;
  std::vector<std::uint64_t> permutation64_;
};

// Items rank, rank + world, rank + 2 * world, ... of batch.
std::vector<std::size_t> shard_batch(const std::vector<std::size_t>& batch, int rank,
                                     int world_size);

// Splits batch into groups whose rows x longest length stays within
// token_budget (an example longer than the budget gets a group of its own).
// Longest first, so similar lengths share a group; stable for equal lengths.
std::vector<std::vector<std::size_t>> micro_batches(
    const std::vector<std::size_t>& batch, const std::function<std::int64_t(std::size_t)>& length,
    std::int64_t token_budget);

}  // namespace enclave::train
