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
    : layer_index_(layer_index),
      n_head_(c.n_head),
      n_kv_head_(c.n_kv_head),
      head_dim_(c.head_dim),
      scale_(std::pow(c.query_pre_attn_scalar.value_or(static_cast<double>(c.head_dim)), -0.5)),
      softcap_(c.attn_logit_softcapping) {
  const CheckpointNames n = checkpoint_names(c);
  const std::int64_t q_dim = c.n_head * c.head_dim;
  const std::int64_t kv_dim = c.n_kv_head * c.head_dim;
  if (!n.qkv.empty()) {
    qkv_proj_ =
        register_module(n.qkv, Linear(c.hidden_size, q_dim + 2 * kv_dim, c.qkv_bias, dtype));
  } else {
    q_proj_ = register_module(n.q, Linear(c.hidden_size, q_dim, c.qkv_bias, dtype));
    k_proj_ = register_module(n.k, Linear(c.hidden_size, kv_dim, c.qkv_bias, dtype));
    v_proj_ = register_module(n.v, Linear(c.hidden_size, kv_dim, c.qkv_bias, dtype));
  }
  o_proj_ = register_module(n.o, Linear(q_dim, c.hidden_size, c.o_bias, dtype));
  if (c.qk_norm) {
    q_norm_ = register_module("q_norm", RMSNorm(c.head_dim, c.rms_norm_eps, dtype, c.gemma_norm));
    k_norm_ = register_module("k_norm", RMSNorm(c.head_dim, c.rms_norm_eps, dtype, c.gemma_norm));
  }
}

AttentionImpl::Projected AttentionImpl::project(const torch::Tensor& x, const torch::Tensor& cos,
                                                const torch::Tensor& sin) {
  const std::int64_t B = x.size(0);
  const std::int64_t T = x.size(1);
  torch::Tensor q, k, v;
  if (qkv_proj_) {
    auto parts = qkv_proj_(x).split_with_sizes(
        {n_head_ * head_dim_, n_kv_head_ * head_dim_, n_kv_head_ * head_dim_}, -1);
    q = parts[0], k = parts[1], v = parts[2];
  } else {
    q = q_proj_(x), k = k_proj_(x), v = v_proj_(x);
  }
  // (B, T, H * hd) -> (B, H, T, hd); q/k norms act on each head's vector.
  q = q.view({B, T, n_head_, head_dim_});
  k = k.view({B, T, n_kv_head_, head_dim_});
  if (q_norm_) {
    q = q_norm_(q);
    k = k_norm_(k);
  }
  q = apply_rope(q.transpose(1, 2), cos, sin);
  k = apply_rope(k.transpose(1, 2), cos, sin);
  return {q, k, v.view({B, T, n_kv_head_, head_dim_}).transpose(1, 2)};
}

torch::Tensor AttentionImpl::attend(const torch::Tensor& q, const torch::Tensor& k,
                                    const torch::Tensor& v, const torch::Tensor& mask) const {
  const std::int64_t R = q.size(0);
  const std::int64_t T = q.size(2);
  const std::int64_t S = k.size(2);
  const std::int64_t group = n_head_ / n_kv_head_;
  // Query head h uses KV head h / group (HF repeat_kv), so the group's heads
  // become rows: qg: (R, n_kv_head, group * T, head_dim).
  torch::Tensor qg = q.reshape({R, n_kv_head_, group * T, head_dim_});
  torch::Tensor scores = torch::matmul(qg, k.transpose(-2, -1)) * scale_;
  if (softcap_) scores = torch::tanh(scores / *softcap_) * *softcap_;
  scores = scores.to(torch::kFloat32)
               .view({R, n_kv_head_, group, T, S})
               .masked_fill(mask.view({R, 1, 1, T, S}).logical_not(),
                            -std::numeric_limits<float>::infinity());
  torch::Tensor probs =
      torch::softmax(scores, -1).to(q.scalar_type()).view({R, n_kv_head_, group * T, S});
  return torch::matmul(probs, v).view({R, n_head_, T, head_dim_});
}

torch::Tensor AttentionImpl::output(const torch::Tensor& heads) {
  const std::int64_t B = heads.size(0);
  const std::int64_t T = heads.size(2);
  return o_proj_(heads.transpose(1, 2).reshape({B, T, n_head_ * head_dim_}));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos,
                                     const torch::Tensor& sin, const torch::Tensor& mask,
                                     KvCache* cache, std::int64_t start) {
  auto [q, k, v] = project(x, cos, sin);
  if (cache == nullptr) return output(attend(q, k, v, mask));
  KvCache::Keys keys = cache->append(layer_index_, start, k, v);
  // A windowed layer returns only the positions from keys.first on.
  return output(attend(q, keys.k, keys.v, mask.slice(-1, keys.first)));
}

}  // namespace enclave
