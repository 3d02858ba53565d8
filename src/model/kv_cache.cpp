#include "model/kv_cache.h"

#include "core/error.h"

namespace enclave {

KvCache::KvCache(const ModelConfig& config, std::int64_t batch, std::int64_t max_len,
                 const torch::TensorOptions& options)
    : batch_(batch), max_len_(max_len) {
  if (batch <= 0 || max_len <= 0) {
    fail_input("kv cache: batch {} and max_len {} must be positive", batch, max_len);
  }
  k_.reserve(config.n_layer);
  v_.reserve(config.n_layer);
  for (std::int64_t i = 0; i < config.n_layer; ++i) {
    k_.push_back(torch::zeros({batch, config.n_kv_head, max_len, config.head_dim}, options));
    v_.push_back(torch::zeros({batch, config.n_kv_head, max_len, config.head_dim}, options));
  }
}

std::pair<torch::Tensor, torch::Tensor> KvCache::append(std::int64_t layer, std::int64_t start,
                                                        const torch::Tensor& k,
                                                        const torch::Tensor& v) {
  const std::int64_t end = start + k.size(2);
  ENCLAVE_CHECK(layer >= 0 && layer < static_cast<std::int64_t>(k_.size()));
  ENCLAVE_CHECK(start >= 0 && end <= max_len_ && k.size(0) == batch_);
  k_[layer].slice(2, start, end).copy_(k);
  v_[layer].slice(2, start, end).copy_(v);
  return {k_[layer].slice(2, 0, end), v_[layer].slice(2, 0, end)};
}

}  // namespace enclave
