#include "model/rope.h"

#include <cmath>

namespace enclave {

torch::Tensor rope_inv_freq(const ModelConfig& config) {
  const std::int64_t dim = config.head_dim;
  auto exponent =
      torch::arange(0, dim, 2, torch::kInt64).to(torch::kFloat32) / static_cast<double>(dim);
  // Python's `scalar / tensor` is tensor.reciprocal() * scalar; spelled out
  // so the bits match HF exactly (ATen's C++ operator divides instead).
  torch::Tensor inv_freq = torch::pow(config.rope_theta, exponent).reciprocal();
  const RopeScaling& rs = config.rope_scaling;
  switch (rs.type) {
    case RopeScalingType::kNone:
      return inv_freq;
    case RopeScalingType::kLinear:
      return inv_freq / rs.factor;
    case RopeScalingType::kLlama3: {
      const double old_context = static_cast<double>(rs.original_max_position_embeddings);
      const double low_freq_wavelen = old_context / rs.low_freq_factor;
      const double high_freq_wavelen = old_context / rs.high_freq_factor;
      torch::Tensor wavelen = inv_freq.reciprocal() * (2 * M_PI);
      torch::Tensor inv_freq_llama =
          torch::where(wavelen > low_freq_wavelen, inv_freq / rs.factor, inv_freq);
      torch::Tensor smooth = (wavelen.reciprocal() * old_context - rs.low_freq_factor) /
                             (rs.high_freq_factor - rs.low_freq_factor);
      torch::Tensor smoothed = (1 - smooth) * inv_freq_llama / rs.factor + smooth * inv_freq_llama;
      torch::Tensor is_medium =
          (wavelen < high_freq_wavelen).logical_not() & (wavelen > low_freq_wavelen).logical_not();
      return torch::where(is_medium, smoothed, inv_freq_llama);
    }
  }
  return inv_freq;
}

std::pair<torch::Tensor, torch::Tensor> rope_cos_sin(const torch::Tensor& inv_freq,
                                                     const torch::Tensor& positions,
                                                     torch::Dtype dtype) {
  // freqs: (B, T, head_dim / 2) = pos * inv_freq, in float32.
  torch::Tensor freqs = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq.view({1, 1, -1});
  torch::Tensor emb = torch::cat({freqs, freqs}, -1).unsqueeze(1);  // (B, 1, T, head_dim)
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

namespace {
torch::Tensor rotate_half(const torch::Tensor& x) {
  const std::int64_t half = x.size(-1) / 2;
  return torch::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
}
}  // namespace

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos,
                         const torch::Tensor& sin) {
  return x * cos + rotate_half(x) * sin;
}

}  // namespace enclave
