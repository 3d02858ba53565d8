// The elementary layers of a Llama-like model: Linear and Embedding without
// random initialisation (weights come from a checkpoint or from an explicit
// init), RMSNorm and the SwiGLU MLP. Parameter names match Hugging Face
// (`weight`, `bias`, `gate_proj`, ...) so named_parameters() of the whole
// model are exactly the checkpoint's tensor names.
// Parameters are created with torch::empty on the CPU in the compute dtype
// (uninitialised; untouched pages cost no memory) and replaced by the loader.
// Thread safety: forward is const in effect; modules are not safe to mutate
// (load, train) while another thread runs forward.
#pragma once

#include <torch/torch.h>

#include "model/config.h"
#include "model/quant_linear.h"

namespace enclave {

// A term added to a Linear's output: the hook LoRA (model/lora.h) uses.
// forward returns the addition for input x, or an undefined tensor when the
// adapter is switched off.
class LinearAdapter {
 public:
  virtual ~LinearAdapter() = default;
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};

// y = x @ weight^T + bias (+ adapter(x)); weight: (out, in). With quant_
// set (a quantised model, model/quant_weights.h) the product runs on the
// quantised weight and weight_ is a placeholder of the right shape that
// holds no data (a zero-stride view of one element).
class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(std::int64_t in_features, std::int64_t out_features, bool bias, torch::Dtype dtype);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight_;
  torch::Tensor bias_;                        // undefined when the layer has no bias
  std::shared_ptr<LinearAdapter> adapter_;    // null: a plain linear layer
  std::shared_ptr<const QuantMatrix> quant_;  // null: weight_ holds the weight
};
TORCH_MODULE(Linear);

// Token ids (B, T) int64 -> (B, T, C); weight: (V, C). quant_ as in Linear
// (rows are dequantised as they are looked up).
class EmbeddingImpl : public torch::nn::Module {
 public:
  EmbeddingImpl(std::int64_t n_vocab, std::int64_t dim, torch::Dtype dtype);
  torch::Tensor forward(const torch::Tensor& ids);
  torch::Tensor weight_;
  std::shared_ptr<const QuantMatrix> quant_;
};
TORCH_MODULE(Embedding);

// RMSNorm (Zhang & Sennrich 2019) computed in float32 as HF LlamaRMSNorm:
// weight * (x / sqrt(mean(x^2) + eps)).to(x.dtype); with gemma, as
// GemmaRMSNorm: ((x / sqrt(mean(x^2) + eps)) * (1 + weight)).to(x.dtype),
// all in float32.
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(std::int64_t dim, double eps, torch::Dtype dtype, bool gemma = false);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight_;
  double eps_;
  bool gemma_;
};
TORCH_MODULE(RMSNorm);

// Gated MLP (Shazeer 2020): down(act(gate(x)) * up(x)), act SiLU (SwiGLU)
// or tanh-approximated GELU (GeGLU, Gemma). Phi-3 fuses gate and up into one
// projection (gate_up_, first half gate); the others have gate_proj_ and
// up_proj_. Module names are the family's (CheckpointNames).
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(const ModelConfig& config, torch::Dtype dtype);
  torch::Tensor forward(const torch::Tensor& x);
  Linear gate_proj_{nullptr}, up_proj_{nullptr}, gate_up_{nullptr}, down_proj_{nullptr};

 private:
  Activation activation_;
};
TORCH_MODULE(Mlp);

}  // namespace enclave
