// How a Hugging Face checkpoint maps onto llama.cpp's GGUF conventions, for
// both directions (gguf_export, gguf_import): the architecture name of each
// family, the name of each tensor ("model.layers.3.self_attn.q_proj.weight"
// -> "blk.3.attn_q.weight"), and the row permutation llama.cpp's "llama"
// architecture expects of q and k (it rotates interleaved pairs where HF
// rotates halves).
// Torch-free. Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/config.h"

namespace enclave {

// "llama", "qwen2", "qwen3", "gemma2", "gemma3", "exaone", "phi3".
std::string gguf_architecture(Family family);

// llama.cpp's name for a checkpoint tensor of this config; nullopt for a
// name the family does not have.
std::optional<std::string> gguf_tensor_name(const ModelConfig& config, const std::string& hf_name);

// Heads whose rows the "llama" architecture permutes for this tensor
// (n_head for q, n_kv_head for k), or 0.
std::int64_t gguf_permuted_heads(const ModelConfig& config, const std::string& gguf_name);

// Whether llama.cpp stores this norm as 1 + w (Gemma).
bool gguf_norm_plus_one(const ModelConfig& config, const std::string& hf_name);

// convert_hf_to_gguf's permute of a (rows, cols) row-major matrix (cols 1
// for a bias) and its inverse.
std::vector<float> gguf_permute_rows(const std::vector<float>& w, std::int64_t heads,
                                     std::int64_t rows, std::int64_t cols, bool inverse = false);
// Appends a matrix of `rows` equal runs of bytes (quantised blocks) to out,
// its rows as gguf_permute_rows orders them when heads > 0 (as they are
// otherwise): quantised rows move between the layouts without decoding.
void gguf_append_rows(std::span<const std::uint8_t> data, std::int64_t heads, std::int64_t rows,
                      bool inverse, std::vector<std::uint8_t>& out);

}  // namespace enclave
