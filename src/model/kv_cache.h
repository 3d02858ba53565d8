// KvCache: per-layer keys and values of the tokens seen so far, so decoding
// a new token costs attention over the cache instead of a full re-forward.
// Preallocated once per sequence batch: K and V of each layer are
// (B, n_kv_head, max_len, head_dim) in the compute dtype on the model's
// device. Position index i in the cache is the i-th token of the (possibly
// left-padded) batch row.
// Thread safety: none; one cache belongs to one generation at a time.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "model/config.h"

namespace enclave {

class KvCache {
 public:
  // Throws Error(kInvalidInput) if batch or max_len is not positive.
  KvCache(const ModelConfig& config, std::int64_t batch, std::int64_t max_len,
          const torch::TensorOptions& options);

  // Stores k, v: (B, n_kv_head, T, head_dim) at cache positions [start,
  // start + T) of `layer` and returns views of positions [0, start + T).
  // ENCLAVE_CHECK fails if it would run past max_len (callers check first).
  std::pair<torch::Tensor, torch::Tensor> append(std::int64_t layer, std::int64_t start,
                                                 const torch::Tensor& k, const torch::Tensor& v);

  std::int64_t batch() const { return batch_; }
  std::int64_t max_len() const { return max_len_; }

 private:
  std::int64_t batch_;
  std::int64_t max_len_;
  std::vector<torch::Tensor> k_;  // per layer: (B, n_kv_head, max_len, head_dim)
  std::vector<torch::Tensor> v_;
};

}  // namespace enclave
