// Rotary position embeddings (RoFormer, https://arxiv.org/abs/2104.09864) in
// the Hugging Face convention: the head dimension is split in halves
// (rotate_half), not interleaved pairs. Scaling variants follow
// transformers' modeling_rope_utils.py: "linear" divides inv_freq by the
// factor; "llama3" (_compute_llama3_parameters) keeps high frequencies,
// divides low frequencies by the factor and interpolates in between.
// Thread safety: pure functions.
#pragma once

#include <torch/torch.h>

#include "model/config.h"

namespace enclave {

// inv_freq: (head_dim / 2) float32 on CPU, computed exactly as HF does.
torch::Tensor rope_inv_freq(const ModelConfig& config);

// cos, sin for positions (B, T) int64 -> each (B, 1, T, head_dim) in `dtype`,
// computed in float32 and then cast (as HF does). inv_freq is on the
// positions' device.
std::pair<torch::Tensor, torch::Tensor> rope_cos_sin(const torch::Tensor& inv_freq,
                                                     const torch::Tensor& positions,
                                                     torch::Dtype dtype);

// x: (B, H, T, head_dim) -> x * cos + rotate_half(x) * sin.
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos,
                         const torch::Tensor& sin);

}  // namespace enclave
