#include "model/gguf_names.h"

#include <fmt/format.h>

#include <algorithm>

namespace enclave {

std::string gguf_architecture(Family f) {
  switch (f) {
    case Family::kLlama:
    case Family::kMistral:
      return "llama";
    case Family::kQwen2:
      return "qwen2";
    case Family::kQwen3:
      return "qwen3";
    case Family::kGemma2:
      return "gemma2";
    case Family::kGemma3:
      return "gemma3";
    case Family::kExaone:
      return "exaone";
    case Family::kPhi3:
      return "phi3";
  }
  return "llama";
}

// llama.cpp's name for a checkpoint tensor ("blk.3.attn_q.weight").
std::optional<std::string> gguf_tensor_name(const ModelConfig& c, const std::string& name) {
  const CheckpointNames n = checkpoint_names(c);
  if (name == n.stack + "." + n.embed + ".weight") return "token_embd.weight";
  if (name == n.stack + "." + n.final_norm + ".weight") return "output_norm.weight";
  if (name == "lm_head.weight") return "output.weight";
  const std::string prefix = n.layer_prefix();
  if (!name.starts_with(prefix)) return std::nullopt;
  const std::string rest = name.substr(prefix.size());
  const std::size_t dot = rest.find('.');
  const std::string layer = rest.substr(0, dot);
  const std::string tail = rest.substr(dot + 1);
  const std::size_t last = tail.rfind('.');
  const std::string module = tail.substr(0, last);
  const std::string kind = tail.substr(last);  // ".weight" / ".bias"
  const std::string attn = n.attn + (n.attn_inner.empty() ? "" : "." + n.attn_inner) + ".";
  const std::pair<std::string, const char*> table[] = {{attn + n.q, "attn_q"},
                                                       {attn + n.k, "attn_k"},
                                                       {attn + n.v, "attn_v"},
                                                       {attn + n.qkv, "attn_qkv"},
                                                       {attn + n.o, "attn_output"},
                                                       {attn + "q_norm", "attn_q_norm"},
                                                       {attn + "k_norm", "attn_k_norm"},
                                                       {n.attn_norm, "attn_norm"},
                                                       {n.attn_out_norm, "post_attention_norm"},
                                                       {n.mlp_norm, "ffn_norm"},
                                                       {n.mlp_out_norm, "post_ffw_norm"},
                                                       {"mlp." + n.gate, "ffn_gate"},
                                                       {"mlp." + n.up, "ffn_up"},
                                                       {"mlp." + n.gate_up, "ffn_up"},
                                                       {"mlp." + n.down, "ffn_down"}};
  for (const auto& [hf, gguf] : table) {
    if (!hf.empty() && hf.back() != '.' && module == hf)
      return fmt::format("blk.{}.{}{}", layer, gguf, kind);
  }
  return std::nullopt;
}

std::int64_t gguf_permuted_heads(const ModelConfig& c, const std::string& name) {
  if (gguf_architecture(c.family) != "llama") return 0;
  if (name.find(".attn_q.") != std::string::npos) return c.n_head;
  if (name.find(".attn_k.") != std::string::npos) return c.n_kv_head;
  return 0;
}

bool gguf_norm_plus_one(const ModelConfig& c, const std::string& hf_name) {
  return (c.family == Family::kGemma2 || c.family == Family::kGemma3) &&
         hf_name.ends_with("norm.weight");
}

namespace {

template <typename T>
std::vector<T> permute_rows(std::span<const T> w, std::int64_t heads, std::int64_t rows,
                            std::int64_t cols, bool inverse) {
  const std::int64_t hd = rows / heads;
  std::vector<T> out(w.size());
  for (std::int64_t h = 0; h < heads; ++h)
    for (std::int64_t i = 0; i < hd / 2; ++i)
      for (std::int64_t j = 0; j < 2; ++j) {
        // Row (h, j, i) of HF's layout is row (h, i, j) of llama.cpp's.
        const std::int64_t gguf = h * hd + 2 * i + j;
        const std::int64_t hf = h * hd + j * (hd / 2) + i;
        const std::int64_t dst = inverse ? hf : gguf;
        const std::int64_t src = inverse ? gguf : hf;
        std::copy_n(w.begin() + src * cols, cols, out.begin() + dst * cols);
      }
  return out;
}

}  // namespace

std::vector<float> gguf_permute_rows(const std::vector<float>& w, std::int64_t heads,
                                     std::int64_t rows, std::int64_t cols, bool inverse) {
  return permute_rows(std::span<const float>(w), heads, rows, cols, inverse);
}

void gguf_append_rows(std::span<const std::uint8_t> data, std::int64_t heads, std::int64_t rows,
                      bool inverse, std::vector<std::uint8_t>& out) {
  if (heads <= 0) {
    out.insert(out.end(), data.begin(), data.end());
    return;
  }
  const std::vector<std::uint8_t> moved =
      permute_rows(data, heads, rows, static_cast<std::int64_t>(data.size()) / rows, inverse);
  out.insert(out.end(), moved.begin(), moved.end());
}

}  // namespace enclave
