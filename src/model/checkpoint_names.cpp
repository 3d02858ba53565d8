// Each family's tensor names (config.h CheckpointNames) and the checkpoint
// shapes a config implies; parsing lives in config.cpp, writing in
// config_write.cpp.
#include <algorithm>

#include "model/config.h"

namespace enclave {

CheckpointNames checkpoint_names(const ModelConfig& c) {
  CheckpointNames n;
  switch (c.family) {
    case Family::kGemma2:
    case Family::kGemma3:
      n.attn_out_norm = "post_attention_layernorm";
      n.mlp_norm = "pre_feedforward_layernorm";
      n.mlp_out_norm = "post_feedforward_layernorm";
      break;
    case Family::kExaone:
      n.stack = "transformer";
      n.embed = "wte";
      n.layers = "h";
      n.final_norm = "ln_f";
      n.attn_norm = "ln_1";
      n.attn = "attn";
      n.attn_inner = "attention";
      n.mlp_norm = "ln_2";
      n.o = "out_proj";
      n.gate = "c_fc_0";
      n.up = "c_fc_1";
      n.down = "c_proj";
      break;
    case Family::kPhi3:
      n.qkv = "qkv_proj";
      n.q = n.k = n.v = "";
      n.gate_up = "gate_up_proj";
      n.gate = n.up = "";
      break;
    default:
      break;
  }
  return n;
}

std::vector<std::string> family_module_names(const ModelConfig& c,
                                             const std::vector<std::string>& names) {
  const CheckpointNames n = checkpoint_names(c);
  auto fused = [](const std::string& own, const std::string& whole) {
    return own.empty() ? whole : own;
  };
  const std::pair<std::string_view, std::string> table[] = {{"q_proj", fused(n.q, n.qkv)},
                                                            {"k_proj", fused(n.k, n.qkv)},
                                                            {"v_proj", fused(n.v, n.qkv)},
                                                            {"o_proj", n.o},
                                                            {"gate_proj", fused(n.gate, n.gate_up)},
                                                            {"up_proj", fused(n.up, n.gate_up)},
                                                            {"down_proj", n.down}};
  std::vector<std::string> out;
  for (const std::string& name : names) {
    std::string mapped = name;
    for (const auto& [llama, own] : table)
      if (name == llama) mapped = own;
    if (std::find(out.begin(), out.end(), mapped) == out.end()) out.push_back(mapped);
  }
  return out;
}

std::vector<ParameterShape> parameter_shapes(const ModelConfig& c) {
  const CheckpointNames n = checkpoint_names(c);
  const std::int64_t C = c.hidden_size;
  const std::int64_t q_dim = c.n_head * c.head_dim;
  const std::int64_t kv_dim = c.n_kv_head * c.head_dim;
  const std::int64_t I = c.intermediate_size;
  const std::string stack = n.stack + ".";
  std::vector<ParameterShape> out;
  out.push_back({stack + n.embed + ".weight", {c.vocab_size, C}});
  auto linear = [&](const std::string& name, std::int64_t in, std::int64_t out_features,
                    bool bias) {
    out.push_back({name + ".weight", {out_features, in}});
    if (bias) out.push_back({name + ".bias", {out_features}});
  };
  for (std::int64_t i = 0; i < c.n_layer; ++i) {
    const std::string layer = n.layer_prefix() + std::to_string(i);
    const std::string attn =
        layer + "." + n.attn + (n.attn_inner.empty() ? "" : "." + n.attn_inner);
    out.push_back({layer + "." + n.attn_norm + ".weight", {C}});
    if (!n.qkv.empty()) {
      linear(attn + "." + n.qkv, C, q_dim + 2 * kv_dim, c.qkv_bias);
    } else {
      linear(attn + "." + n.q, C, q_dim, c.qkv_bias);
      linear(attn + "." + n.k, C, kv_dim, c.qkv_bias);
      linear(attn + "." + n.v, C, kv_dim, c.qkv_bias);
    }
    linear(attn + "." + n.o, q_dim, C, c.o_bias);
    if (c.qk_norm) {
      out.push_back({attn + ".q_norm.weight", {c.head_dim}});
      out.push_back({attn + ".k_norm.weight", {c.head_dim}});
    }
    if (!n.attn_out_norm.empty()) out.push_back({layer + "." + n.attn_out_norm + ".weight", {C}});
    out.push_back({layer + "." + n.mlp_norm + ".weight", {C}});
    if (!n.gate_up.empty()) {
      linear(layer + ".mlp." + n.gate_up, C, 2 * I, c.mlp_bias);
    } else {
      linear(layer + ".mlp." + n.gate, C, I, c.mlp_bias);
      linear(layer + ".mlp." + n.up, C, I, c.mlp_bias);
    }
    linear(layer + ".mlp." + n.down, I, C, c.mlp_bias);
    if (!n.mlp_out_norm.empty()) out.push_back({layer + "." + n.mlp_out_norm + ".weight", {C}});
  }
  out.push_back({stack + n.final_norm + ".weight", {C}});
  if (!c.tie_word_embeddings) out.push_back({"lm_head.weight", {c.vocab_size, C}});
  return out;
}
std::int64_t count_parameters(const ModelConfig& c) {
  std::int64_t total = 0;
  for (const ParameterShape& p : parameter_shapes(c)) {
    std::int64_t n = 1;
    for (std::int64_t d : p.shape) n *= d;
    total += n;
  }
  return total;
}

}  // namespace enclave
