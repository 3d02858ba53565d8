// Helpers for the training tests: a scratch folder (ScratchDir, from
// core/scratch_dir_testing.h), a very small Llama
// model directory with the default tokenizer (and Llama 3 chat template),
// and JSONL writers.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/scratch_dir_testing.h"
#include "model/config.h"

namespace enclave::train::testing {

using enclave::testing::ScratchDir;

// vocab 384 byte-level BPE, hidden 64, 2 layers, 4 heads / 2 KV heads.
ModelConfig small_model_config();
// Writes config.json, model.safetensors (seeded, weights ~ normal(0, std)), tokenizer files.
void write_small_model(const std::filesystem::path& dir, std::uint64_t seed, double std = 0.02);

void write_jsonl(const std::filesystem::path& path, const std::vector<nlohmann::json>& records);

// n chat records teaching "Say X" -> "X" over a handful of words.
std::vector<nlohmann::json> echo_sft_records(int n);
// n preference pairs where the chosen answer is always "yes" and the rejected "no".
std::vector<nlohmann::json> separable_pairs(int n);

}  // namespace enclave::train::testing
