// export_gguf: a Hugging Face model directory as one GGUF file that
// llama.cpp and Ollama load: llama.cpp's architecture name and hyper-
// parameter keys for the family, its tensor names and layouts (Llama's q/k
// rows permuted for llama.cpp's interleaved rotary, Gemma norms stored as
// 1 + w, Phi-3's fused projections as they are, llama3 and longrope scaling
// as rope_freqs / rope_factors tensors), and the tokenizer (byte-level BPE
// as "gpt2" with merges and llama.cpp's pre-tokenizer name; SentencePiece-
// style BPE tokenizer.json as "llama" with scores from the merge ranks; a
// tokenizer.model-only SentencePiece BPE model as "llama" with its own
// pieces, scores and types; add_space_prefix), special token ids and chat
// template.
// Matrices are written in the requested type (f32, f16, bf16, q8_0, q4_0,
// or q4_k_m: llama.cpp's mix of Q4_K and Q6_K, see matrix_type);
// norms, biases and rotary factors stay f32, as llama.cpp's converter does.
// A model imported from GGUF with its matrices kept quantised (a version
// `model quantize` registered, model/gguf_import.h) writes those matrices'
// blocks as they are when exported as their own type, and dequantised for
// f32 / f16 / bf16; another quantised type is refused.
// Torch-free. Thread safety: stateless.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "model/gguf_writer.h"

namespace enclave {

struct GgufExportOptions {
  GgmlType type = GgmlType::kF16;
  std::string name;  // general.name; default: the directory's name
};

struct GgufExportResult {
  std::string architecture;  // llama.cpp's ("llama", "gemma3", ...)
  std::size_t n_tensors = 0;
  std::uint64_t n_bytes = 0;  // of the file
};

// "f32" -> kF32 ..., "q4_k_m" -> kQ4_K (export writes its mix); Error(kInvalidInput)
// naming the accepted types.
GgmlType parse_gguf_type(const std::string& name);

// The --type of a model directory's quantised matrices (kQ4_K for a Q4_K_M
// mix, kQ4_0, kQ8_0); nullopt when it has none. Throws what GgufFile throws.
std::optional<GgmlType> quantized_export_type(const std::filesystem::path& model_dir);

// Throws Error(kUnsupported) for what llama.cpp's architecture cannot
// express (e.g. a Gemma 3 whose local:global pattern is not 5:1, a model
// without tokenizer.json), naming what differs; Error(kInvalidInput) for a
// malformed model directory or a quantised type other than the one its
// kept-quantised matrices are in.
GgufExportResult export_gguf(const std::filesystem::path& model_dir,
                             const std::filesystem::path& out, const GgufExportOptions& options);

}  // namespace enclave
