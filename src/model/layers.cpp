#include "model/layers.h"

namespace enclave {

LinearImpl::LinearImpl(std::int64_t in_features, std::int64_t out_features, bool bias,
                       torch::Dtype dtype) {
  weight_ =
      register_parameter("weight", torch::empty({out_features, in_features}, torch::dtype(dtype)));
  if (bias) bias_ = register_parameter("bias", torch::empty({out_features}, torch::dtype(dtype)));
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = quant_ ? quant_linear(x, *quant_, bias_) : torch::linear(x, weight_, bias_);
  if (adapter_) {
    if (torch::Tensor extra = adapter_->forward(x); extra.defined()) y = y + extra;
  }
  return y;
}

EmbeddingImpl::EmbeddingImpl(std::int64_t n_vocab, std::int64_t dim, torch::Dtype dtype) {
  weight_ = register_parameter("weight", torch::empty({n_vocab, dim}, torch::dtype(dtype)));
}

torch::Tensor EmbeddingImpl::forward(const torch::Tensor& ids) {
  if (quant_) return quant_embedding(ids, *quant_, weight_.scalar_type());
  return torch::embedding(weight_, ids);
}

RMSNormImpl::RMSNormImpl(std::int64_t dim, double eps, torch::Dtype dtype, bool gemma)
    : eps_(eps), gemma_(gemma) {
  weight_ = register_parameter("weight", gemma ? torch::zeros({dim}, torch::dtype(dtype))
                                               : torch::ones({dim}, torch::dtype(dtype)));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  torch::Tensor xf = x.to(torch::kFloat32);
  xf = xf * torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  if (gemma_) return (xf * (weight_.to(torch::kFloat32) + 1.0)).to(x.scalar_type());
  return weight_ * xf.to(x.scalar_type());
}

MlpImpl::MlpImpl(const ModelConfig& c, torch::Dtype dtype) : activation_(c.activation) {
  const CheckpointNames n = checkpoint_names(c);
  const std::int64_t C = c.hidden_size;
  const std::int64_t I = c.intermediate_size;
  if (!n.gate_up.empty()) {
    gate_up_ = register_module(n.gate_up, Linear(C, 2 * I, c.mlp_bias, dtype));
  } else {
    gate_proj_ = register_module(n.gate, Linear(C, I, c.mlp_bias, dtype));
    up_proj_ = register_module(n.up, Linear(C, I, c.mlp_bias, dtype));
  }
  down_proj_ = register_module(n.down, Linear(I, C, c.mlp_bias, dtype));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  torch::Tensor gate, up;
  if (gate_up_) {
    auto halves = gate_up_(x).chunk(2, -1);
    gate = halves[0];
    up = halves[1];
  } else {
    gate = gate_proj_(x);
    up = up_proj_(x);
  }
  gate = activation_ == Activation::kSilu ? torch::silu(gate) : torch::gelu(gate, "tanh");
  return down_proj_(gate * up);
}

}  // namespace enclave
