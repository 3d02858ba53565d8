// Transformer: a Llama-like decoder-only causal LM (Llama 2/3, Mistral,
// Qwen2, SOLAR) in the layout of HF LlamaForCausalLM, so parameter names are
// the checkpoint's: model.embed_tokens, model.layers.{i}.{input_layernorm,
// self_attn.{q,k,v,o}_proj, post_attention_layernorm, mlp.{gate,up,down}_proj},
// model.norm, lm_head (absent when tie_word_embeddings).
//
// forward: embed -> per layer: h = x + attn(rmsnorm(x)); x = h + mlp(rmsnorm(h))
// -> final rmsnorm -> lm_head.
// The module is device- and dtype-agnostic: every tensor it makes takes the
// device of its input ids and the dtype of its weights.
// Thread safety: as torch modules (see layers.h).
#pragma once

#include <torch/torch.h>

#include <functional>

#include "model/attention.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/layers.h"

namespace enclave {

class DecoderLayerImpl : public torch::nn::Module {
 public:
  DecoderLayerImpl(const ModelConfig& config, std::int64_t layer_index, torch::Dtype dtype);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask, KvCache* cache, std::int64_t start);

  RMSNorm input_layernorm_{nullptr};
  Attention self_attn_{nullptr};
  RMSNorm post_attention_layernorm_{nullptr};
  Mlp mlp_{nullptr};
};
TORCH_MODULE(DecoderLayer);

// The "model." part of the checkpoint: embeddings, layers, final norm.
class DecoderStackImpl : public torch::nn::Module {
 public:
  DecoderStackImpl(const ModelConfig& config, torch::Dtype dtype);
  Embedding embed_tokens_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  RMSNorm norm_{nullptr};
};
TORCH_MODULE(DecoderStack);

class TransformerImpl : public torch::nn::Module {
 public:
  // Parameters are uninitialised (see layers.h): load them with
  // load_weights (weights.h) or initialise them explicitly.
  TransformerImpl(const ModelConfig& config, torch::Dtype dtype);

  // tokens: (B, T) int64 on the model's device -> final-norm hidden states
  // (B, T, C). With a cache, the tokens sit at cache indices [start, start +
  // T) and attend to everything before them; without one start must be 0.
  // n_pad: (B) int64 count of left-pad tokens per row, or undefined.
  torch::Tensor forward_hidden(const torch::Tensor& tokens, KvCache* cache = nullptr,
                               std::int64_t start = 0, const torch::Tensor& n_pad = {});
  // hidden: (..., C) -> logits (..., V) in the compute dtype.
  torch::Tensor logits(const torch::Tensor& hidden);
  // forward_hidden then logits: (B, T, V).
  torch::Tensor forward(const torch::Tensor& tokens, KvCache* cache = nullptr,
                        std::int64_t start = 0, const torch::Tensor& n_pad = {});

  const ModelConfig& config() const { return config_; }
  torch::Dtype dtype() const { return dtype_; }
  torch::Device device() const;
  // The lm_head weight (the embedding matrix when tied).
  torch::Tensor output_weight() const;

  DecoderStack model_{nullptr};
  Linear lm_head_{nullptr};  // null when tie_word_embeddings

  // Training hook: when set, forward_hidden without a cache runs each layer
  // through it (gradient checkpointing, train/grad_checkpoint.h).
  using LayerRunner = std::function<torch::Tensor(
      DecoderLayerImpl& layer, const torch::Tensor& x, const torch::Tensor& cos,
      const torch::Tensor& sin, const torch::Tensor& mask)>;
  LayerRunner layer_runner_;

 private:
  ModelConfig config_;
  torch::Dtype dtype_;
  torch::Tensor inv_freq_;  // (head_dim / 2) float32, moved to the ids' device on use
};
TORCH_MODULE(Transformer);

// "f32" -> kFloat32, "bf16" -> kBFloat16; Error(kInvalidInput) otherwise.
torch::Dtype parse_compute_dtype(const std::string& name);
// "cpu", "cuda", "cuda:1"; Error(kInvalidInput) for a malformed name,
// Error(kUnsupported) when CUDA is not available.
torch::Device parse_device(const std::string& name);

}  // namespace enclave
