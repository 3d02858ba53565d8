#include "model/layers.h"

namespace enclave {

LinearImpl::LinearImpl(std::int64_t in_features, std::int64_t out_features, bool bias,
                       torch::Dtype dtype) {
  weight_ =
      register_parameter("weight", torch::empty({out_features, in_features}, torch::dtype(dtype)));
  if (bias) bias_ = register_parameter("bias", torch::empty({out_features}, torch::dtype(dtype)));
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = torch::linear(x, weight_, bias_);
  if (adapter_) {
    if (torch::Tensor extra = adapter_->forward(x); extra.defined()) y = y + extra;
  }
  return y;
}

EmbeddingImpl::EmbeddingImpl(std::int64_t n_vocab, std::int64_t dim, torch::Dtype dtype) {
  weight_ = register_parameter("weight", torch::empty({n_vocab, dim}, torch::dtype(dtype)));
}

torch::Tensor EmbeddingImpl::forward(const torch::Tensor& ids) {
  return torch::embedding(weight_, ids);
}

RMSNormImpl::RMSNormImpl(std::int64_t dim, double eps, torch::Dtype dtype) : eps_(eps) {
  weight_ = register_parameter("weight", torch::ones({dim}, torch::dtype(dtype)));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  torch::Tensor xf = x.to(torch::kFloat32);
  xf = xf * torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  return weight_ * xf.to(x.scalar_type());
}

MlpImpl::MlpImpl(const ModelConfig& c, torch::Dtype dtype) {
  gate_proj_ =
      register_module("gate_proj", Linear(c.hidden_size, c.intermediate_size, c.mlp_bias, dtype));
  up_proj_ =
      register_module("up_proj", Linear(c.hidden_size, c.intermediate_size, c.mlp_bias, dtype));
  down_proj_ =
      register_module("down_proj", Linear(c.intermediate_size, c.hidden_size, c.mlp_bias, dtype));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  return down_proj_(torch::silu(gate_proj_(x)) * up_proj_(x));
}

}  // namespace enclave
