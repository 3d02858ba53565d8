// import_gguf: a GGUF file (llama.cpp's format) as a Hugging Face model
// directory, the inverse of export_gguf: config.json from the architecture's
// hyper-parameter keys, weights dequantised to float32 (f16 and bf16 kept)
// under Hugging Face names and layouts (Llama q/k rows un-permuted, Gemma
// norms back to w, rotary factor tensors back to rope_scaling), in shards
// of at most 2 GiB with an index, and the tokenizer (gpt2 vocabularies as a
// byte-level BPE tokenizer.json with merges and llama.cpp's pre-tokenizer;
// the chat template and special tokens into tokenizer_config.json). The
// directory is staged and appears whole or not at all.
// Torch-free. Thread safety: stateless.
#pragma once

#include <filesystem>
#include <string>

namespace enclave {

// The file in a model directory that holds quantised matrices under their
// Hugging Face names and layouts (model/quant_weights.h loads it).
inline constexpr const char* kQuantWeightsFile = "model.quant.gguf";

struct GgufImportOptions {
  // Q8_0, Q4_0, Q4_K and Q6_K matrices are copied as they are into kQuantWeightsFile
  // (rows un-permuted as for float weights) instead of dequantised into the
  // safetensors, so inference runs on them (`--model FILE.gguf`).
  bool keep_quantized = false;
};

struct GgufImportResult {
  std::string architecture;  // the Hugging Face one written ("Qwen3ForCausalLM")
  std::size_t n_tensors = 0;
  std::size_t n_quantized = 0;  // kept quantised (keep_quantized)
};

// Throws what GgufFile throws for a malformed file, Error(kUnsupported) for
// an architecture, tensor type or vocabulary Enclave does not import (naming
// it), Error(kInvalidInput) for metadata that contradicts the tensors.
GgufImportResult import_gguf(const std::filesystem::path& gguf, const std::filesystem::path& out,
                             const GgufImportOptions& options = {});

}  // namespace enclave
