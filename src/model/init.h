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

namespace enclave {

// The Llama config of a preset: "tiny" (~3.4M parameters, tests) or "small"
// (~100M, benchmarks). Token ids are left unset. Throws Error(kInvalidInput)
// for another name.
ModelConfig preset_config(const std::string& preset);

struct RandomInit {
  double std = 0.02;           // HF initializer_range
  bool random_biases = false;  // HF zeroes biases; tests want them non-zero
  bool random_norms = false;   // HF sets norm weights to one
};

// Writes every tensor of parameter_shapes(config) as F32 into `file`
// (__metadata__ {"format": "pt"}): weights ~ normal(0, std), norms one,
// biases zero unless `init` asks for random ones.
void write_random_weights(const ModelConfig& config, const std::filesystem::path& file,
                          std::uint64_t seed, const RandomInit& init = {});

}  // namespace enclave
