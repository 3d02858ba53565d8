// export_gguf_lora: a PEFT LoRA adapter as a GGUF adapter file that
// llama.cpp loads with --lora on top of the base model's GGUF (as its
// convert_lora_to_gguf.py writes one): general.type "adapter", adapter.type
// "lora", adapter.lora.alpha, the base's architecture, and for each adapted
// matrix "<base tensor>.lora_a" (r x in) and "<base tensor>.lora_b"
// (out x r), under llama.cpp's names. B's rows take the q/k permutation the
// base matrix takes (a permutation of the output rows of B A is one of B's
// rows). llama.cpp scales by alpha / r; an rsLoRA adapter (alpha / sqrt(r))
// is written with alpha * sqrt(r), which scales the same.
// Thread safety: stateless.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "model/gguf_writer.h"

namespace enclave {

struct GgufLoraExportOptions {
  GgmlType type = GgmlType::kF32;  // f32, f16, bf16 or q8_0 (as llama.cpp's converter)
  std::string name;                // general.name; default: the adapter folder's name
};

struct GgufLoraExportResult {
  std::string architecture;
  std::size_t n_tensors = 0;
  std::uint64_t n_bytes = 0;
  double alpha = 0;  // as written
};

// Throws Error(kNotFound) for a missing adapter_config.json or weights,
// Error(kInvalidInput) naming the tensor for one that does not belong to the
// base (unknown module, shapes that do not match it, a lora_A without its
// lora_B), Error(kUnsupported) for what llama.cpp cannot apply (adapted
// embeddings or lm_head, a type other than those above) and for what
// read_adapter_config refuses.
GgufLoraExportResult export_gguf_lora(const std::filesystem::path& adapter_dir,
                                      const std::filesystem::path& base_dir,
                                      const std::filesystem::path& out,
                                      const GgufLoraExportOptions& options);

}  // namespace enclave
