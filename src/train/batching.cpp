#include "train/batching.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>

#include "core/error.h"

namespace enclave::train {

DataOrder::DataOrder(std::size_t n_examples, std::uint64_t seed) : n_(n_examples), seed_(seed) {
  if (n_examples == 0) fail_input("training data: no examples");
  build_permutation();
}

namespace {

// Fisher-Yates with our own draws: std::shuffle differs across standard libraries.
template <typename Index>
void shuffle_range(std::vector<Index>& permutation, std::size_t n, std::uint64_t seed,
                   std::int64_t epoch) {
  permutation.resize(n);
  std::iota(permutation.begin(), permutation.end(), Index{0});
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(epoch) + 1);
  for (std::size_t i = n; i > 1; --i) {
    const std::size_t j = static_cast<std::size_t>(rng() % i);
    std::swap(permutation[i - 1], permutation[j]);
  }
}

}  // namespace

void DataOrder::build_permutation() {
  if (n_ <= std::numeric_limits<std::uint32_t>::max()) {
    shuffle_range(permutation32_, n_, seed_, position_.epoch);
  } else {
    shuffle_range(permutation64_, n_, seed_, position_.epoch);
  }
}

std::vector<std::size_t> DataOrder::next(std::size_t n) {
  std::vector<std::size_t> out;
  out.reserve(n);
  while (out.size() < n) {
    if (position_.index >= static_cast<std::int64_t>(n_)) {
      ++position_.epoch;
      position_.index = 0;
      build_permutation();
    }
    const auto at = static_cast<std::size_t>(position_.index++);
    out.push_back(permutation64_.empty() ? permutation32_[at]
                                         : static_cast<std::size_t>(permutation64_[at]));
  }
  return out;
}

void DataOrder::seek(DataPosition position) {
  if (position.epoch < 0 || position.index < 0 || position.index > static_cast<std::int64_t>(n_)) {
    fail_input("data position (epoch {}, index {}) is outside a data set of {} examples",
               position.epoch, position.index, n_);
  }
  position_ = position;
  build_permutation();
}

std::vector<std::size_t> shard_batch(const std::vector<std::size_t>& batch, int rank,
                                     int world_size) {
  ENCLAVE_CHECK(world_size >= 1 && rank >= 0 && rank < world_size);
  std::vector<std::size_t> out;
  for (std::size_t i = static_cast<std::size_t>(rank); i < batch.size();
       i += static_cast<std::size_t>(world_size)) {
    out.push_back(batch[i]);
  }
  return out;
}

std::vector<std::vector<std::size_t>> micro_batches(
    const std::vector<std::size_t>& batch, const std::function<std::int64_t(std::size_t)>& length,
    std::int64_t token_budget) {
  std::vector<std::size_t> sorted = batch;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](std::size_t a, std::size_t b) { return length(a) > length(b); });
  std::vector<std::vector<std::size_t>> groups;
  std::int64_t longest = 0;
  for (std::size_t index : sorted) {
    const std::int64_t len = length(index);
    // Sorted longest first, so the group's first row sets its padded length.
    if (!groups.empty() &&
        static_cast<std::int64_t>(groups.back().size() + 1) * longest <= token_budget) {
      groups.back().push_back(index);
      continue;
    }
    groups.push_back({index});
    longest = len;
  }
  return groups;
}

}  // namespace enclave::train
