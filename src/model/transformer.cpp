#include "model/transformer.h"

#include "core/error.h"
#include "model/rope.h"

namespace enclave {

DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& c, std::int64_t layer_index,
                                   torch::Dtype dtype) {
  input_layernorm_ =
      register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps, dtype));
  self_attn_ = register_module("self_attn", Attention(c, layer_index, dtype));
  post_attention_layernorm_ =
      register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps, dtype));
  mlp_ = register_module("mlp", Mlp(c, dtype));
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& cos,
                                        const torch::Tensor& sin, const torch::Tensor& mask,
                                        KvCache* cache, std::int64_t start) {
  torch::Tensor h = x + self_attn_(input_layernorm_(x), cos, sin, mask, cache, start);
  return h + mlp_(post_attention_layernorm_(h));
}

DecoderStackImpl::DecoderStackImpl(const ModelConfig& c, torch::Dtype dtype) {
  embed_tokens_ = register_module("embed_tokens", Embedding(c.vocab_size, c.hidden_size, dtype));
  layers_ = register_module("layers", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < c.n_layer; ++i) layers_->push_back(DecoderLayer(c, i, dtype));
  norm_ = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps, dtype));
}

TransformerImpl::TransformerImpl(const ModelConfig& config, torch::Dtype dtype)
    : config_(config), dtype_(dtype), inv_freq_(rope_inv_freq(config)) {
  model_ = register_module("model", DecoderStack(config, dtype));
  if (!config.tie_word_embeddings) {
    lm_head_ = register_module(
        "lm_head", Linear(config.hidden_size, config.vocab_size, /*bias=*/false, dtype));
  }
}

torch::Device TransformerImpl::device() const { return model_->embed_tokens_->weight_.device(); }

torch::Tensor TransformerImpl::output_weight() const {
  return lm_head_ ? lm_head_->weight_ : model_->embed_tokens_->weight_;
}

torch::Tensor TransformerImpl::forward_hidden(const torch::Tensor& tokens, KvCache* cache,
                                              std::int64_t start, const torch::Tensor& n_pad) {
  ENCLAVE_CHECK(tokens.dim() == 2);
  ENCLAVE_CHECK(cache != nullptr || start == 0);
  const std::int64_t B = tokens.size(0);
  const std::int64_t T = tokens.size(1);
  const torch::Device device = tokens.device();
  if (inv_freq_.device() != device) inv_freq_ = inv_freq_.to(device);

  torch::Tensor positions = token_positions(B, T, start, n_pad, device);
  auto [cos, sin] = rope_cos_sin(inv_freq_, positions, dtype_);
  torch::Tensor mask = attention_mask(B, T, start, n_pad, config_.sliding_window, device);
  torch::Tensor full_mask;
  if (config_.sliding_window && config_.first_sliding_layer > 0) {
    full_mask = attention_mask(B, T, start, n_pad, std::nullopt, device);
  }

  torch::Tensor x = model_->embed_tokens_(tokens);
  std::int64_t index = 0;
  for (const auto& layer : *model_->layers_) {
    const bool full = full_mask.defined() && index++ < config_.first_sliding_layer;
    DecoderLayerImpl& block = *layer->as<DecoderLayerImpl>();
    const torch::Tensor& layer_mask = full ? full_mask : mask;
    x = layer_runner_ && cache == nullptr ? layer_runner_(block, x, cos, sin, layer_mask)
                                          : block.forward(x, cos, sin, layer_mask, cache, start);
  }
  return model_->norm_(x);
}

torch::Tensor TransformerImpl::logits(const torch::Tensor& hidden) {
  return torch::linear(hidden, output_weight());
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
