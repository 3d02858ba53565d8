// Multi-head self-attention with grouped-query attention (GQA, Ainslie et
// al. 2023) and rotary positions, matching HF LlamaAttention /
// Qwen2Attention / MistralAttention (eager path): scores = q @ k^T *
// head_dim^-0.5, masked, softmax in float32, cast back, @ v.
// GQA is computed without repeating K/V: the n_head / n_kv_head query heads
// that share a KV head are folded into the row dimension of one matmul.
// Thread safety: as torch modules (see layers.h).
#pragma once

#include <torch/torch.h>

#include "model/config.h"
#include "model/kv_cache.h"
#include "model/layers.h"

namespace enclave {

// Which keys each query may see, for tokens at cache indices [start, start
// + T) attending to keys [0, start + T): causal, not a left-pad key (row b's
// first n_pad[b] indices), and inside the sliding window (0 <= q - k <
// window) when there is one. A pad query sees itself so no row is empty.
// n_pad: (B) int64 or undefined (no padding). Returns bool (B, 1, T, S).
torch::Tensor attention_mask(std::int64_t batch, std::int64_t n_query, std::int64_t start,
                             const torch::Tensor& n_pad, std::optional<std::int64_t> sliding_window,
                             const torch::Device& device);

// RoPE positions of those tokens: index - n_pad[b], clamped at 0 for pads,
// so each row's first real token is position 0 (as HF generate does).
// Returns (B, T) int64.
torch::Tensor token_positions(std::int64_t batch, std::int64_t n_query, std::int64_t start,
                              const torch::Tensor& n_pad, const torch::Device& device);

// Family differences (config.h): fused qkv_proj (Phi-3), per-head q/k
// RMSNorm before rotary (Qwen3, Gemma 3), scores scaled by
// query_pre_attn_scalar^-0.5 and soft-capped as tanh(s / c) * c before the
// mask (Gemma 2), partial rotary (Phi-3). The batch decoder reuses project
// and attend so both paths compute the same thing.
class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(const ModelConfig& config, std::int64_t layer_index, torch::Dtype dtype);

  // x: (B, T, C); cos/sin: (B, 1, T, rotary_dim); mask: (B, 1, T, S) bool;
  // cache: if given, K/V of these tokens are stored at [start, start + T) and
  // attention runs over cache [0, start + T); else S == T and start == 0.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask, KvCache* cache, std::int64_t start);

  struct Projected {
    torch::Tensor q;  // (B, n_head, T, head_dim), normed and rotated
    torch::Tensor k;  // (B, n_kv_head, T, head_dim), normed and rotated
    torch::Tensor v;  // (B, n_kv_head, T, head_dim)
  };
  Projected project(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);
  // q: (R, n_head, T, hd), k/v: (R, n_kv_head, S, hd), mask: (R, 1, T, S)
  // bool -> (R, n_head, T, hd).
  torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                       const torch::Tensor& mask) const;
  // (B, n_head, T, hd) -> o_proj over the concatenated heads: (B, T, C).
  torch::Tensor output(const torch::Tensor& heads);

  Linear q_proj_{nullptr}, k_proj_{nullptr}, v_proj_{nullptr}, qkv_proj_{nullptr}, o_proj_{nullptr};
  RMSNorm q_norm_{nullptr}, k_norm_{nullptr};

 private:
  std::int64_t layer_index_;
  std::int64_t n_head_;
  std::int64_t n_kv_head_;
  std::int64_t head_dim_;
  double scale_;
  std::optional<double> softcap_;
};
TORCH_MODULE(Attention);

}  // namespace enclave
