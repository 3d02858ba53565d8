// KvCache: per-layer keys and values of the tokens seen so far, so decoding
// a new token costs attention over the cache instead of a full re-forward.
// Preallocated once per sequence batch in the compute dtype on the model's
// device: K and V of a full-attention layer are (B, n_kv_head, max_len,
// head_dim), position i at index i. A windowed cache keeps a sliding-window
// layer's last `window` positions only, in a ring (position p at p mod
// window), so a Gemma 3 or Mistral sequence costs its window, not its
// length, on those layers. A windowed cache only moves forward: callers
// that rewind (re-write positions already cached) use a full one.
// Thread safety: none; one cache belongs to one generation at a time.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "model/config.h"

namespace enclave {

// Writes `values`, which hold positions [first, first + n) along `dim`
// (n <= the ring's size there), into `ring` at position mod size: at most
// two contiguous copies.
void write_ring(torch::Tensor ring, const torch::Tensor& values, std::int64_t dim,
                std::int64_t first);

class KvCache {
 public:
  // Throws Error(kInvalidInput) if batch or max_len is not positive.
  KvCache(const ModelConfig& config, std::int64_t batch, std::int64_t max_len,
          const torch::TensorOptions& options, bool windowed = false);

  struct Keys {
    torch::Tensor k;  // (B, n_kv_head, S', head_dim) for positions [first, start + T)
    torch::Tensor v;
    std::int64_t first = 0;  // position of the first key (> 0 only for windowed layers)
  };
  // Stores k, v: (B, n_kv_head, T, head_dim) at positions [start, start +
  // T) of `layer` and returns the keys and values those tokens attend to,
  // in position order. ENCLAVE_CHECK fails if it would run past max_len
  // (callers check first) or a windowed layer is rewound.
  Keys append(std::int64_t layer, std::int64_t start, const torch::Tensor& k,
              const torch::Tensor& v);

  std::int64_t batch() const { return batch_; }
  std::int64_t max_len() const { return max_len_; }
  // Positions a layer holds (max_len, or its window in a windowed cache).
  std::int64_t capacity(std::int64_t layer) const { return k_[layer].size(2); }
  bool is_ring(std::int64_t layer) const { return ring_[layer]; }

  // For writers that store K and V themselves (model/fused_decode.h): the
  // layer's (B, n_kv_head, capacity, head_dim) tensors, and the index along
  // capacity where `position` goes. A ring layer must be written in order:
  // its slot is position mod window, and claiming it advances the ring.
  // ENCLAVE_CHECK fails past max_len or out of order.
  const torch::Tensor& keys(std::int64_t layer) const { return k_[layer]; }
  const torch::Tensor& values(std::int64_t layer) const { return v_[layer]; }
  std::int64_t claim_slot(std::int64_t layer, std::int64_t position);

 private:
  std::int64_t batch_;
  std::int64_t max_len_;
  std::vector<torch::Tensor> k_;  // per layer: (B, n_kv_head, capacity, head_dim)
  std::vector<torch::Tensor> v_;
  std::vector<bool> ring_;         // per layer: capacity is a window ring
  std::vector<std::int64_t> end_;  // per ring layer: positions written so far
};

}  // namespace enclave
