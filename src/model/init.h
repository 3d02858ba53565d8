// New models from nothing: the size presets of `enclave model init` and
// seeded random weights written as a safetensors file. Torch-free: the
// normal samples come from our own std::mt19937_64 + Box-Muller, so the same
// seed gives byte-identical files whatever torch build is installed.
// Thread safety: stateless functions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "model/config.h"
#include "model/dtype.h"

namespace enclave {

// The Llama config of a preset: "tiny" (~3.4M parameters, tests) or "small"
// (~100M, benchmarks). Token ids are left unset. Throws Error(kInvalidInput)
// for another name.
ModelConfig preset_config(const std::string& preset);

struct RandomInit {
  DType dtype = DType::kF32;   // kF32 or kBF16 (rounded to nearest even)
  double std = 0.02;           // HF initializer_range
  bool random_biases = false;  // HF zeroes biases; tests want them non-zero
  bool random_norms = false;   // HF sets norm weights to one
};

// Writes every tensor of parameter_shapes(config) as init.dtype into `file`
// (__metadata__ {"format": "pt"}): weights ~ normal(0, std), norms one,
// biases zero unless `init` asks for random ones.
void write_random_weights(const ModelConfig& config, const std::filesystem::path& file,
                          std::uint64_t seed, const RandomInit& init = {});

struct InitOptions {
  DType dtype = DType::kF32;  // of the weights written: kF32 or kBF16
  // Copy the tokenizer files (tokenizer.json or tokenizer.model, with
  // tokenizer_config.json, special_tokens_map.json, chat_template.jinja)
  // from this folder; empty: train the default byte-level BPE.
  std::filesystem::path tokenizer;
};

// A random model of the shape a Hugging Face config.json describes (any
// supported architecture), as transformers' from_config makes one: the
// config kept as given (torch_dtype set to what was written), weights
// normal(0, initializer_range), norms one, biases zero. For benchmarks and
// tests at real sizes. Throws Error(kInvalidInput) for a config we cannot
// load, a tokenizer larger than vocab_size or an out_dir that is not empty;
// Error(kNotFound) for a tokenizer folder without tokenizer files.
void init_model_from_config(const std::filesystem::path& config_json,
                            const std::filesystem::path& out_dir, std::uint64_t seed,
                            const InitOptions& options = {});

}  // namespace enclave
