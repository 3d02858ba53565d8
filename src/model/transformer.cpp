#include "model/transformer.h"

#include <cmath>

#include "core/error.h"
#include "model/rope.h"

namespace enclave {

DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& c, std::int64_t layer_index,
                                   torch::Dtype dtype)
    : sliding(is_sliding_layer(c, layer_index)),
      local_rope(sliding && c.rope_local_theta.has_value()) {
  const CheckpointNames n = checkpoint_names(c);
  auto norm = [&](const std::string& name) {
    return register_module(name, RMSNorm(c.hidden_size, c.rms_norm_eps, dtype, c.gemma_norm));
  };
  attn_norm_ = norm(n.attn_norm);
  self_attn_ = Attention(c, layer_index, dtype);
  if (n.attn_inner.empty()) {
    register_module(n.attn, self_attn_);
  } else {
    // EXAONE nests it: attn.attention.q_proj.
    auto holder = register_module(n.attn, std::make_shared<torch::nn::Module>());
    holder->register_module(n.attn_inner, self_attn_);
  }
  if (!n.attn_out_norm.empty()) attn_out_norm_ = norm(n.attn_out_norm);
  mlp_norm_ = norm(n.mlp_norm);
  mlp_ = register_module("mlp", Mlp(c, dtype));
  if (!n.mlp_out_norm.empty()) mlp_out_norm_ = norm(n.mlp_out_norm);
}

torch::Tensor DecoderLayerImpl::add_attention(const torch::Tensor& x,
                                              const torch::Tensor& attn_out) {
  return x + (attn_out_norm_ ? attn_out_norm_(attn_out) : attn_out);
}

torch::Tensor DecoderLayerImpl::add_mlp(const torch::Tensor& h) {
  torch::Tensor m = mlp_(mlp_norm_(h));
  return h + (mlp_out_norm_ ? mlp_out_norm_(m) : m);
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& cos,
                                        const torch::Tensor& sin, const torch::Tensor& mask,
                                        KvCache* cache, std::int64_t start) {
  return add_mlp(add_attention(x, self_attn_(attn_norm_(x), cos, sin, mask, cache, start)));
}

DecoderStackImpl::DecoderStackImpl(const ModelConfig& c, torch::Dtype dtype) {
  const CheckpointNames n = checkpoint_names(c);
  embed_tokens_ = register_module(n.embed, Embedding(c.vocab_size, c.hidden_size, dtype));
  layers_ = register_module(n.layers, torch::nn::ModuleList());
  for (std::int64_t i = 0; i < c.n_layer; ++i) layers_->push_back(DecoderLayer(c, i, dtype));
  norm_ =
      register_module(n.final_norm, RMSNorm(c.hidden_size, c.rms_norm_eps, dtype, c.gemma_norm));
}

TransformerImpl::TransformerImpl(const ModelConfig& config, torch::Dtype dtype)
    : config_(config), dtype_(dtype), rotary_(std::make_shared<RotaryTables>(config)) {
  model_ = register_module(checkpoint_names(config).stack, DecoderStack(config, dtype));
  if (!config.tie_word_embeddings) {
    lm_head_ = register_module(
        "lm_head", Linear(config.hidden_size, config.vocab_size, /*bias=*/false, dtype));
  }
}

torch::Device TransformerImpl::device() const { return model_->embed_tokens_->weight_.device(); }

torch::Tensor TransformerImpl::output_weight() const {
  return lm_head_ ? lm_head_->weight_ : model_->embed_tokens_->weight_;
}

torch::Tensor TransformerImpl::embed(const torch::Tensor& tokens) {
  torch::Tensor x = model_->embed_tokens_(tokens);
  if (!config_.scale_embeddings) return x;
  // Gemma multiplies by sqrt(hidden_size) rounded to the activation dtype.
  return x * torch::scalar_tensor(std::sqrt(static_cast<double>(config_.hidden_size)), x.options());
}

torch::Tensor TransformerImpl::forward_hidden(const torch::Tensor& tokens, KvCache* cache,
                                              std::int64_t start, const torch::Tensor& n_pad) {
  ENCLAVE_CHECK(tokens.dim() == 2);
  ENCLAVE_CHECK(cache != nullptr || start == 0);
  const std::int64_t B = tokens.size(0);
  const std::int64_t T = tokens.size(1);
  const torch::Device device = tokens.device();

  torch::Tensor positions = token_positions(B, T, start, n_pad, device);
  const std::int64_t seq_len =
      n_pad.defined() ? positions.max().item<std::int64_t>() + 1 : start + T;
  auto [cos, sin] = rotary_->cos_sin(false, positions, dtype_, seq_len);
  torch::Tensor local_cos, local_sin;
  if (rotary_->has_local())
    std::tie(local_cos, local_sin) = rotary_->cos_sin(true, positions, dtype_, seq_len);
  torch::Tensor mask = attention_mask(B, T, start, n_pad, std::nullopt, device);
  torch::Tensor window_mask;
  if (config_.sliding_window)
    window_mask = attention_mask(B, T, start, n_pad, config_.sliding_window, device);

  torch::Tensor x = embed(tokens);
  for (const auto& layer : *model_->layers_) {
    DecoderLayerImpl& block = *layer->as<DecoderLayerImpl>();
    const torch::Tensor& layer_mask = block.sliding ? window_mask : mask;
    const torch::Tensor& c = block.local_rope ? local_cos : cos;
    const torch::Tensor& s = block.local_rope ? local_sin : sin;
    x = layer_runner_ && cache == nullptr ? layer_runner_(block, x, c, s, layer_mask)
                                          : block.forward(x, c, s, layer_mask, cache, start);
  }
  return model_->norm_(x);
}

torch::Tensor TransformerImpl::logits(const torch::Tensor& hidden) {
  const std::shared_ptr<const QuantMatrix>& quant =
      lm_head_ ? lm_head_->quant_ : model_->embed_tokens_->quant_;
  torch::Tensor logits =
      quant ? quant_linear(hidden, *quant, {}) : torch::linear(hidden, output_weight());
  if (!config_.final_logit_softcapping) return logits;
  const double cap = *config_.final_logit_softcapping;
  return torch::tanh(logits / cap) * cap;
}

torch::Tensor TransformerImpl::forward(const torch::Tensor& tokens, KvCache* cache,
                                       std::int64_t start, const torch::Tensor& n_pad) {
  return logits(forward_hidden(tokens, cache, start, n_pad));
}

torch::Dtype parse_compute_dtype(const std::string& name) {
  if (name == "f32") return torch::kFloat32;
  if (name == "bf16") return torch::kBFloat16;
  fail_input("dtype: '{}' is not a compute dtype (expected f32 or bf16)", name);
}

torch::Device parse_device(const std::string& name) {
  torch::Device device(torch::kCPU);
  try {
    device = torch::Device(name);
  } catch (const c10::Error&) {
    fail_input("device: '{}' is not a device (expected cpu, cuda or cuda:N)", name);
  }
  if (device.is_cuda()) {
    if (!torch::cuda::is_available()) {
      fail(ErrorKind::kUnsupported,
           "device: '{}' requested but CUDA is not available in this build or machine", name);
    }
    if (device.has_index() && device.index() >= static_cast<int>(torch::cuda::device_count())) {
      fail_input("device: '{}': only {} CUDA device(s) present", name, torch::cuda::device_count());
    }
  } else if (!device.is_cpu()) {
    fail(ErrorKind::kUnsupported, "device: '{}' is not supported (expected cpu or cuda)", name);
  }
  return device;
}

}  // namespace enclave
