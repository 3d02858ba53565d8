// Helpers for the merge tests: temporary folders (ScratchDir, from
// core/scratch_dir_testing.h), tiny model directories
// made by init_model (real config, weights and tokenizer), reading a stored
// tensor back as float32, and writing a merge config file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/scratch_dir_testing.h"
#include "model/config.h"

namespace enclave::merge::testing {

using enclave::testing::ScratchDir;

// `enclave model init --preset tiny --seed seed` into dir (4 layers).
void make_tiny_model(const std::filesystem::path& dir, std::uint64_t seed);

// A tiny model whose config differs: writes config.json and random weights
// of `config` (no tokenizer files).
void make_model(const std::filesystem::path& dir, const ModelConfig& config, std::uint64_t seed);

// Copies a model directory.
void copy_model(const std::filesystem::path& from, const std::filesystem::path& to);

// One stored tensor of a model directory as float32; fails the test if missing.
std::vector<float> read_tensor(const std::filesystem::path& dir, const std::string& name);

// The largest |a - b|.
double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b);

// yaml with each "$name" replaced by the path dir/name; longer names first,
// so "$base" is never read as "$b" followed by "ase".
std::string with_model_dirs(std::string yaml, const std::filesystem::path& dir,
                            std::vector<std::string> names);

// Writes text to dir/name and returns the path.
std::filesystem::path write_text(const std::filesystem::path& dir, const std::string& name,
                                 const std::string& text);

}  // namespace enclave::merge::testing
