// Transformer: a decoder-only causal LM of any family config.h reads, with
// the family's module names so parameter names are the checkpoint's
// (Llama: model.embed_tokens, model.layers.{i}.{input_layernorm,
// self_attn.{q,k,v,o}_proj, post_attention_layernorm, mlp.{gate,up,down}_proj},
// model.norm, lm_head, absent when tie_word_embeddings; EXAONE:
// transformer.h.{i}.attn.attention.q_proj, ...).
//
// forward: embed (* sqrt(hidden) for Gemma) -> per layer:
// h = x + post_norm(attn(norm(x))); x = h + post_norm(mlp(norm(h))), the
// post norms only in Gemma -> final rmsnorm -> lm_head (-> soft-cap).
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
#include "model/rope.h"

namespace enclave {

class DecoderLayerImpl : public torch::nn::Module {
 public:
  DecoderLayerImpl(const ModelConfig& config, std::int64_t layer_index, torch::Dtype dtype);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask, KvCache* cache, std::int64_t start);
  // The residual steps around attention, for callers that run attention
  // themselves (the batch decoder): x + post_norm(attn_out).
  torch::Tensor add_attention(const torch::Tensor& x, const torch::Tensor& attn_out);
  // h + post_norm(mlp(norm(h))).
  torch::Tensor add_mlp(const torch::Tensor& h);

  RMSNorm attn_norm_{nullptr};
  Attention self_attn_{nullptr};
  RMSNorm attn_out_norm_{nullptr};  // Gemma only
  RMSNorm mlp_norm_{nullptr};
  Mlp mlp_{nullptr};
  RMSNorm mlp_out_norm_{nullptr};  // Gemma only
  bool sliding = false;            // attends through the sliding window
  bool local_rope = false;         // uses the local rotary table (Gemma 3)
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
  // tokens -> (B, T, C) embeddings, scaled as the family does.
  torch::Tensor embed(const torch::Tensor& tokens);
  // hidden: (..., C) -> logits (..., V) in the compute dtype (soft-capped
  // when the family does).
  torch::Tensor logits(const torch::Tensor& hidden);
  // forward_hidden then logits: (B, T, V).
  torch::Tensor forward(const torch::Tensor& tokens, KvCache* cache = nullptr,
                        std::int64_t start = 0, const torch::Tensor& n_pad = {});

  const ModelConfig& config() const { return config_; }
  torch::Dtype dtype() const { return dtype_; }
  torch::Device device() const;
  // The lm_head weight (the embedding matrix when tied); a placeholder
  // without data when that weight is quantised (layers.h).
  torch::Tensor output_weight() const;
  const RotaryTables& rotary() const { return *rotary_; }

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
  std::shared_ptr<RotaryTables> rotary_;
};
TORCH_MODULE(Transformer);

// "f32" -> kFloat32, "bf16" -> kBFloat16; Error(kInvalidInput) otherwise.
torch::Dtype parse_compute_dtype(const std::string& name);
// "cpu", "cuda", "cuda:1"; Error(kInvalidInput) for a malformed name,
// Error(kUnsupported) when CUDA is not available.
torch::Device parse_device(const std::string& name);

}  // namespace enclave
