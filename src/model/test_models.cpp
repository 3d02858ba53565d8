#include "model/test_models.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/file.h"
#include "model/fused_decode.h"
#include "model/safetensors.h"
#include "model/weights.h"

namespace enclave::testing {
namespace fs = std::filesystem;

ModelConfig tiny_config(const std::string& architecture) {
  ModelConfig c;
  c.architecture = architecture;
  c.model_type = architecture == "Qwen2ForCausalLM"     ? "qwen2"
                 : architecture == "MistralForCausalLM" ? "mistral"
                                                        : "llama";
  c.family = architecture == "Qwen2ForCausalLM"     ? Family::kQwen2
             : architecture == "MistralForCausalLM" ? Family::kMistral
                                                    : Family::kLlama;
  c.vocab_size = 96;
  c.hidden_size = 64;
  c.intermediate_size = 80;
  c.n_layer = 2;
  c.n_head = 4;
  c.n_kv_head = 2;
  c.head_dim = 16;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.max_position_embeddings = 128;
  c.qkv_bias = architecture == "Qwen2ForCausalLM";
  c.eos_token_ids = {2};
  c.bos_token_id = 1;
  return c;
}

void write_test_model(const fs::path& dir, const ModelConfig& config, std::uint64_t seed,
                      const RandomInit& init) {
  fs::create_directories(dir);
  write_file_atomic(dir / "config.json", to_json(config).dump(2));
  write_random_weights(config, dir / "model.safetensors", seed, init);
}

namespace {

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& w, double eps) {
  return w * (x / torch::sqrt(x.pow(2).mean(-1, true) + eps));
}

torch::Tensor rotate_half(const torch::Tensor& x) {
  const std::int64_t h = x.size(-1) / 2;
  return torch::cat({-x.slice(-1, h), x.slice(-1, 0, h)}, -1);
}

}  // namespace

torch::Tensor reference_logits(const fs::path& dir, const ModelConfig& c,
                               const std::vector<std::int64_t>& tokens) {
  SafetensorsFile file(dir / "model.safetensors");
  auto W = [&](const std::string& name) {
    const TensorInfo* info = file.find(name);
    if (info == nullptr) throw std::runtime_error("reference: missing " + name);
    auto bytes = file.data(*info);
    torch::Tensor t = torch::empty(info->shape, torch::dtype(torch_dtype_of(info->dtype)));
    std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
    return t.to(torch::kFloat64);
  };
  auto has = [&](const std::string& name) { return file.find(name) != nullptr; };
  auto linear = [&](const torch::Tensor& x, const std::string& name) {
    torch::Tensor y = torch::matmul(x, W(name + ".weight").t());
    if (has(name + ".bias")) y = y + W(name + ".bias");
    return y;
  };
  const std::int64_t T = static_cast<std::int64_t>(tokens.size());
  const std::int64_t hd = c.head_dim;
  torch::Tensor ids = torch::tensor(tokens, torch::kInt64);
  torch::Tensor x = W("model.embed_tokens.weight").index_select(0, ids);  // (T, C)

  torch::Tensor inv = 1.0 / torch::pow(c.rope_theta, torch::arange(0, hd, 2, torch::kFloat64) / hd);
  torch::Tensor freqs = torch::outer(torch::arange(T, torch::kFloat64), inv);
  torch::Tensor emb = torch::cat({freqs, freqs}, -1);
  torch::Tensor cos = emb.cos(), sin = emb.sin();  // (T, hd)

  torch::Tensor mask = torch::zeros({T, T}, torch::kFloat64);
  for (std::int64_t i = 0; i < T; ++i) {
    for (std::int64_t j = 0; j < T; ++j) {
      bool visible = j <= i && (!c.sliding_window || i - j < *c.sliding_window);
      if (!visible) mask[i][j] = -std::numeric_limits<double>::infinity();
    }
  }
  for (std::int64_t l = 0; l < c.n_layer; ++l) {
    const std::string p = "model.layers." + std::to_string(l);
    torch::Tensor h = rms_norm(x, W(p + ".input_layernorm.weight"), c.rms_norm_eps);
    torch::Tensor q = linear(h, p + ".self_attn.q_proj").view({T, c.n_head, hd}).transpose(0, 1);
    torch::Tensor k = linear(h, p + ".self_attn.k_proj").view({T, c.n_kv_head, hd}).transpose(0, 1);
    torch::Tensor v = linear(h, p + ".self_attn.v_proj").view({T, c.n_kv_head, hd}).transpose(0, 1);
    q = q * cos + rotate_half(q) * sin;
    k = k * cos + rotate_half(k) * sin;
    k = k.repeat_interleave(c.n_head / c.n_kv_head, 0);
    v = v.repeat_interleave(c.n_head / c.n_kv_head, 0);
    torch::Tensor att =
        torch::softmax(torch::matmul(q, k.transpose(1, 2)) / std::sqrt(double(hd)) + mask, -1);
    torch::Tensor o = torch::matmul(att, v).transpose(0, 1).reshape({T, c.n_head * hd});
    x = x + linear(o, p + ".self_attn.o_proj");
    h = rms_norm(x, W(p + ".post_attention_layernorm.weight"), c.rms_norm_eps);
    x = x + linear(torch::silu(linear(h, p + ".mlp.gate_proj")) * linear(h, p + ".mlp.up_proj"),
                   p + ".mlp.down_proj");
  }
  x = rms_norm(x, W("model.norm.weight"), c.rms_norm_eps);
  return torch::matmul(
      x, W(c.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight").t());
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

// Prefills the first tokens through libtorch into two caches, then decodes
// the rest on both paths and returns the largest logit difference relative
// to the largest logit.
double fused_decode_difference(TransformerImpl& model, std::int64_t n_prefill,
                               std::int64_t n_total) {
  c10::InferenceMode guard;
  const ModelConfig& c = model.config();
  std::vector<std::int64_t> ids;
  for (std::int64_t i = 0; i < n_total; ++i) ids.push_back((i * 37 + 11) % c.vocab_size);
  const auto options = torch::dtype(model.dtype());
  KvCache torch_cache(c, 1, n_total, options, /*windowed=*/true);
  KvCache fused_cache(c, 1, n_total, options, /*windowed=*/true);
  const torch::Tensor prompt =
      torch::tensor(std::vector<std::int64_t>(ids.begin(), ids.begin() + n_prefill)).view({1, -1});
  model.forward(prompt, &torch_cache, 0);
  model.forward(prompt, &fused_cache, 0);
  std::unique_ptr<FusedDecoder> fused = FusedDecoder::create(model);
  EXPECT_TRUE(fused);
  if (!fused) return 1e9;
  double worst = 0;
  for (std::int64_t p = n_prefill; p < n_total; ++p) {
    const torch::Tensor want = model.forward(torch::tensor({ids[p]}).view({1, 1}), &torch_cache, p)
                                   .view({-1})
                                   .to(torch::kFloat32);
    const std::span<const float> got_span = fused->step(ids[p], p, fused_cache);
    const torch::Tensor got = torch::from_blob(const_cast<float*>(got_span.data()),
                                               {static_cast<std::int64_t>(got_span.size())});
    worst = std::max(worst, ((got - want).abs().max() / want.abs().max()).item<double>());
  }
  return worst;
}

}  // namespace enclave::testing
