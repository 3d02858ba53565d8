#include "model/kv_cache.h"

#include <algorithm>

#include "core/error.h"

namespace enclave {

void write_ring(torch::Tensor ring, const torch::Tensor& values, std::int64_t dim,
                std::int64_t first) {
  const std::int64_t size = ring.size(dim);
  const std::int64_t n = values.size(dim);
  ENCLAVE_CHECK(n <= size);
  const std::int64_t at = first % size;
  const std::int64_t head = std::min(n, size - at);
  ring.narrow(dim, at, head).copy_(values.narrow(dim, 0, head));
  if (head < n) ring.narrow(dim, 0, n - head).copy_(values.narrow(dim, head, n - head));
}

KvCache::KvCache(const ModelConfig& config, std::int64_t batch, std::int64_t max_len,
                 const torch::TensorOptions& options, bool windowed)
    : batch_(batch), max_len_(max_len) {
  if (batch <= 0 || max_len <= 0) {
    fail_input("kv cache: batch {} and max_len {} must be positive", batch, max_len);
  }
  k_.reserve(config.n_layer);
  v_.reserve(config.n_layer);
  for (std::int64_t i = 0; i < config.n_layer; ++i) {
    const bool ring = windowed && is_sliding_layer(config, i) && *config.sliding_window < max_len;
    const std::int64_t n = ring ? *config.sliding_window : max_len;
    k_.push_back(torch::zeros({batch, config.n_kv_head, n, config.head_dim}, options));
    v_.push_back(torch::zeros({batch, config.n_kv_head, n, config.head_dim}, options));
    ring_.push_back(ring);
  }
  end_.assign(ring_.size(), 0);
}

KvCache::Keys KvCache::append(std::int64_t layer, std::int64_t start, const torch::Tensor& k,
                              const torch::Tensor& v) {
  const std::int64_t T = k.size(2);
  const std::int64_t end = start + T;
  ENCLAVE_CHECK(layer >= 0 && layer < static_cast<std::int64_t>(k_.size()));
  ENCLAVE_CHECK(start >= 0 && end <= max_len_ && k.size(0) == batch_);
  torch::Tensor& kc = k_[layer];
  torch::Tensor& vc = v_[layer];
  if (!ring_[layer]) {
    kc.slice(2, start, end).copy_(k);
    vc.slice(2, start, end).copy_(v);
    return {kc.slice(2, 0, end), vc.slice(2, 0, end), 0};
  }
  ENCLAVE_CHECK(start == end_[layer]);
  const std::int64_t W = kc.size(2);
  // The new tokens see the W - 1 positions before them: gathered from the
  // ring in position order, then the new keys themselves.
  const std::int64_t first = std::max<std::int64_t>(0, start - (W - 1));
  Keys out;
  out.first = first;
  if (first == start) {
    out.k = k;
    out.v = v;
  } else {
    torch::Tensor index =
        torch::arange(first, start, torch::dtype(torch::kInt64).device(kc.device())).remainder(W);
    out.k = torch::cat({kc.index_select(2, index), k}, 2);
    out.v = torch::cat({vc.index_select(2, index), v}, 2);
  }
  // Keep the last W positions of what was written.
  const std::int64_t keep = std::max(start, end - W);
  write_ring(kc, k.slice(2, keep - start), 2, keep);
  write_ring(vc, v.slice(2, keep - start), 2, keep);
  end_[layer] = end;
  return out;
}

std::int64_t KvCache::claim_slot(std::int64_t layer, std::int64_t position) {
  ENCLAVE_CHECK(layer >= 0 && layer < static_cast<std::int64_t>(k_.size()));
  ENCLAVE_CHECK(position >= 0 && position < max_len_);
  if (!ring_[layer]) return position;
  ENCLAVE_CHECK(position == end_[layer]);
  end_[layer] = position + 1;
  return position % k_[layer].size(2);
}

}  // namespace enclave
