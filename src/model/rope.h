// Rotary position embeddings (RoFormer, https://arxiv.org/abs/2104.09864) in
// the Hugging Face convention: the head dimension is split in halves
// (rotate_half), not interleaved pairs. Scaling variants follow
// transformers' modeling_rope_utils.py: "linear" divides inv_freq by the
// factor; "llama3" (_compute_llama3_parameters) keeps high frequencies,
// divides low frequencies by the factor and interpolates in between;
// "longrope" (Phi-3) divides each frequency by its own factor, long ones
// once a forward pass reaches past the pretrained context (HF's dynamic
// update), and scales cos/sin by attention_factor.
// Thread safety: pure functions.
#pragma once

#include <torch/torch.h>

#include "model/config.h"

namespace enclave {

// inv_freq: (rotary_dim / 2) float32 on CPU, computed exactly as HF does
// (longrope: with the short factors).
torch::Tensor rope_inv_freq(const ModelConfig& config);

// cos, sin for positions (B, T) int64 -> each (B, 1, T, rotary_dim) in
// `dtype`, computed in float32, times `scaling`, then cast (as HF does).
// inv_freq is on the positions' device.
std::pair<torch::Tensor, torch::Tensor> rope_cos_sin(const torch::Tensor& inv_freq,
                                                     const torch::Tensor& positions,
                                                     torch::Dtype dtype, double scaling = 1.0);

// Every rotary table a model's layers use: the global one and, for Gemma 3's
// sliding layers, the local one (rope_local_base_freq, unscaled).
class RotaryTables {
 public:
  explicit RotaryTables(const ModelConfig& config);
  // cos/sin for the layer's table at positions (B, T); seq_len is the
  // largest position + 1 in this forward pass (chooses longrope's factors).
  std::pair<torch::Tensor, torch::Tensor> cos_sin(bool local, const torch::Tensor& positions,
                                                  torch::Dtype dtype, std::int64_t seq_len);
  bool has_local() const { return local_.defined(); }
  // The inverse frequencies (rotary_dim / 2, float32) and the factor on
  // cos and sin that cos_sin uses for that table at seq_len.
  std::pair<torch::Tensor&, double> table(bool local, std::int64_t seq_len) const;

 private:
  // float32; moved to the positions' device on first use there (a cache of
  // where they live, hence mutable).
  mutable torch::Tensor global_;
  mutable torch::Tensor long_;   // longrope only
  mutable torch::Tensor local_;  // Gemma 3 only
  double scaling_ = 1.0;
  std::int64_t original_max_ = 0;
  static torch::Tensor on(torch::Tensor& t, const torch::Device& device);
};

// x: (B, H, T, head_dim) -> x * cos + rotate_half(x) * sin over the first
// cos.size(-1) dimensions; the rest pass through (partial rotary).
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos,
                         const torch::Tensor& sin);

}  // namespace enclave
