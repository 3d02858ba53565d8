// Test helpers for the model tests (temporary folders: core/scratch_dir_testing.h): small configs
// of each family written as real model directories (config.json + model.safetensors with seeded
// random weights), and an independent, deliberately plain float64 reference forward pass (HF eager
// attention with repeat_kv, additive masks, default RoPE) to check the engine against.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/scratch_dir_testing.h"
#include "model/config.h"
#include "model/init.h"
#include "model/transformer.h"

namespace enclave::testing {

// A small config of the given architecture (vocab 96, hidden 64, 2 layers,
// 4 heads, 2 kv heads, intermediate 80, context 128).
ModelConfig tiny_config(const std::string& architecture = "LlamaForCausalLM");

// Writes config.json + model.safetensors (F32) into dir (created if needed).
void write_test_model(const std::filesystem::path& dir, const ModelConfig& config,
                      std::uint64_t seed,
                      const RandomInit& init = {
                          .std = 0.1, .random_biases = true, .random_norms = true});

// Logits (T, V) float64 of the model in dir for one sequence, computed by the
// plain reference implementation (supports default rope only).
torch::Tensor reference_logits(const std::filesystem::path& dir, const ModelConfig& config,
                               const std::vector<std::int64_t>& tokens);

// Decodes tokens n_prefill..n_total of a fixed sequence after a libtorch
// prefill both through libtorch and through FusedDecoder (model/fused_decode.h),
// each with its own cache, and returns the largest logit difference relative
// to the largest logit (EXPECTs that the fused path applies).
double fused_decode_difference(TransformerImpl& model, std::int64_t n_prefill,
                               std::int64_t n_total);

// Largest absolute difference, printed by the tests (llm.c style).
double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace enclave::testing
