// Saving a Transformer as a Hugging Face model directory: config.json,
// safetensors weights (__metadata__ {"format": "pt"}) in the requested dtype,
// sharded as model-0000i-of-0000n.safetensors with
// model.safetensors.index.json when larger than max_shard_bytes, and the
// tokenizer/generation files copied from a source directory. Used by
// training and merging. The directory appears whole or not at all
// (core/staging_dir.h).
// Thread safety: reads the module's weights; do not train it concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "model/transformer.h"

namespace enclave {

struct SaveOptions {
  std::string dtype = "f32";                      // stored dtype: "f32" | "bf16" | "f16"
  std::uint64_t max_shard_bytes = 5'000'000'000;  // HF's default "5GB"
  std::filesystem::path copy_files_from;          // tokenizer etc.; empty = none
};

// Files copied from SaveOptions::copy_files_from when present.
inline constexpr const char* kModelSideFiles[] = {"tokenizer.json", "tokenizer_config.json",
                                                  "special_tokens_map.json", "tokenizer.model",
                                                  "generation_config.json"};

// Throws Error(kInvalidInput) for a bad dtype, zero max_shard_bytes or an
// out_dir that exists and is not empty; Error(kIo) on write failure.
void save_model(TransformerImpl& model, const std::filesystem::path& out_dir,
                const SaveOptions& options);

}  // namespace enclave
