#include "model/attention.h"

#include <cmath>
#include <limits>

#include "model/rope.h"

namespace enclave {

torch::Tensor attention_mask(std::int64_t batch, std::int64_t n_query, std::int64_t start,
                             const torch::Tensor& n_pad, std::optional<std::int64_t> sliding_window,
                             const torch::Device& device) {
  auto idx = torch::TensorOptions().dtype(torch::kInt64).device(device);
  torch::Tensor q = torch::arange(start, start + n_query, idx).view({1, 1, n_query, 1});
  torch::Tensor k = torch::arange(0, start + n_query, idx).view({1, 1, 1, start + n_query});
  torch::Tensor allowed = (k <= q).expand({batch, 1, n_query, start + n_query});
  if (sliding_window) allowed = allowed & ((q - k) < *sliding_window);
  if (n_pad.defined()) {
    allowed = allowed & (k >= n_pad.to(device).view({batch, 1, 1, 1}));
    allowed = allowed | (k == q);
  }
  return allowed;
}

torch::Tensor token_positions(std::int64_t batch, std::int64_t n_query, std::int64_t start,
                              const torch::Tensor& n_pad, const torch::Device& device) {
  auto idx = torch::TensorOptions().dtype(torch::kInt64).device(device);
  torch::Tensor pos =
      torch::arange(start, start + n_query, idx).view({1, n_query}).expand({batch, n_query});
  if (!n_pad.defined()) return pos;
  return (pos - n_pad.to(device).view({batch, 1})).clamp_min(0);
}

AttentionImpl::AttentionImpl(const ModelConfig& c, std::int64_t layer_index, torch::Dtype dtype)
    : layer_index_(layer_index), n_head_(c.n_head), n_kv_head_(c.n_kv_head), head_dim_(c.head_dim) {
  const std::int64_t q_dim = c.n_head * c.head_dim;
  const std::int64_t kv_dim = c.n_kv_head * c.head_dim;
  q_proj_ = register_module("q_proj", Linear(c.hidden_size, q_dim, c.qkv_bias, dtype));
  k_proj_ = register_module("k_proj", Linear(c.hidden_size, kv_dim, c.qkv_bias, dtype));
  v_proj_ = register_module("v_proj", Linear(c.hidden_size, kv_dim, c.qkv_bias, dtype));
  o_proj_ = register_module("o_proj", Linear(q_dim, c.hidden_size, c.o_bias, dtype));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos,
                                     const torch::Tensor& sin, const torch::Tensor& mask,
                                     KvCache* cache, std::int64_t start) {
  const std::int64_t B = x.size(0);
  const std::int64_t T = x.size(1);
  const std::int64_t group = n_head_ / n_kv_head_;
  // x: (B, T, C) -> q: (B, n_head, T, head_dim), k/v: (B, n_kv_head, T, head_dim)
  torch::Tensor q = q_proj_(x).view({B, T, n_head_, head_dim_}).transpose(1, 2);
  torch::Tensor k = k_proj_(x).view({B, T, n_kv_head_, head_dim_}).transpose(1, 2);
  torch::Tensor v = v_proj_(x).view({B, T, n_kv_head_, head_dim_}).transpose(1, 2);
  q = apply_rope(q, cos, sin);
  k = apply_rope(k, cos, sin);
  if (cache != nullptr) std::tie(k, v) = cache->append(layer_index_, start, k, v);
  const std::int64_t S = k.size(2);

  // Query head h uses KV head h / group (HF repeat_kv), so the group's heads
  // become rows: qg: (B, n_kv_head, group * T, head_dim).
  torch::Tensor qg = q.reshape({B, n_kv_head_, group * T, head_dim_});
  torch::Tensor scores =
      torch::matmul(qg, k.transpose(-2, -1)) * std::pow(static_cast<double>(head_dim_), -0.5);
  scores = scores.to(torch::kFloat32)
               .view({B, n_kv_head_, group, T, S})
               .masked_fill(mask.view({B, 1, 1, T, S}).logical_not(),
                            -std::numeric_limits<float>::infinity());
  torch::Tensor probs =
      torch::softmax(scores, -1).to(x.scalar_type()).view({B, n_kv_head_, group * T, S});
  // (B, n_kv_head, group * T, head_dim) -> (B, T, n_head * head_dim)
  torch::Tensor out =
      torch::matmul(probs, v).view({B, n_head_, T, head_dim_}).transpose(1, 2).reshape({B, T, -1});
  return o_proj_(out);
}

}  // namespace enclave
