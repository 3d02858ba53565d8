#include "model/rope.h"

#include <cmath>

namespace enclave {

namespace {

torch::Tensor exponents(std::int64_t dim) {
  return torch::arange(0, dim, 2, torch::kInt64).to(torch::kFloat32) / static_cast<double>(dim);
}

// 1 / (factors * base^(2i / dim)), as _compute_longrope_parameters.
torch::Tensor longrope_inv_freq(const ModelConfig& config, const std::vector<double>& factors) {
  torch::Tensor ext = torch::tensor(factors, torch::kFloat64).to(torch::kFloat32);
  return (ext * torch::pow(config.rope_theta, exponents(rotary_dim(config)))).reciprocal();
}

}  // namespace

torch::Tensor rope_inv_freq(const ModelConfig& config) {
  const std::int64_t dim = rotary_dim(config);
  // Python's `scalar / tensor` is tensor.reciprocal() * scalar; spelled out
  // so the bits match HF exactly (ATen's C++ operator divides instead).
  torch::Tensor inv_freq = torch::pow(config.rope_theta, exponents(dim)).reciprocal();
  const RopeScaling& rs = config.rope_scaling;
  switch (rs.type) {
    case RopeScalingType::kNone:
      return inv_freq;
    case RopeScalingType::kLongRope:
      return longrope_inv_freq(config, rs.short_factor);
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
                                                     torch::Dtype dtype, double scaling) {
  // freqs: (B, T, rotary_dim / 2) = pos * inv_freq, in float32.
  torch::Tensor freqs = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq.view({1, 1, -1});
  torch::Tensor emb = torch::cat({freqs, freqs}, -1).unsqueeze(1);  // (B, 1, T, rotary_dim)
  if (scaling == 1.0) return {emb.cos().to(dtype), emb.sin().to(dtype)};
  return {(emb.cos() * scaling).to(dtype), (emb.sin() * scaling).to(dtype)};
}

RotaryTables::RotaryTables(const ModelConfig& config) : global_(rope_inv_freq(config)) {
  const RopeScaling& rs = config.rope_scaling;
  if (rs.type == RopeScalingType::kLongRope) {
    long_ = longrope_inv_freq(config, rs.long_factor);
    scaling_ = rs.attention_factor;
    original_max_ = rs.original_max_position_embeddings;
  }
  if (config.rope_local_theta) {
    local_ = torch::pow(*config.rope_local_theta, exponents(rotary_dim(config))).reciprocal();
  }
}

torch::Tensor RotaryTables::on(torch::Tensor& t, const torch::Device& device) {
  if (t.device() != device) t = t.to(device);
  return t;
}

std::pair<torch::Tensor&, double> RotaryTables::table(bool local, std::int64_t seq_len) const {
  if (local && local_.defined()) return {local_, 1.0};
  if (long_.defined() && seq_len > original_max_) return {long_, scaling_};
  return {global_, scaling_};
}

std::pair<torch::Tensor, torch::Tensor> RotaryTables::cos_sin(bool local,
                                                              const torch::Tensor& positions,
                                                              torch::Dtype dtype,
                                                              std::int64_t seq_len) {
  const auto [inv_freq, scaling] = table(local, seq_len);
  return rope_cos_sin(on(inv_freq, positions.device()), positions, dtype, scaling);
}

namespace {
torch::Tensor rotate_half(const torch::Tensor& x) {
  const std::int64_t half = x.size(-1) / 2;
  return torch::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
}
}  // namespace

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos,
                         const torch::Tensor& sin) {
  const std::int64_t rot = cos.size(-1);
  if (rot == x.size(-1)) return x * cos + rotate_half(x) * sin;
  // Partial rotary (Phi-3): the tail dimensions pass through unrotated.
  torch::Tensor head = x.slice(-1, 0, rot);
  return torch::cat({head * cos + rotate_half(head) * sin, x.slice(-1, rot)}, -1);
}

}  // namespace enclave
