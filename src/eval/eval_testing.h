// Helpers shared by the eval tests that run a model: one tiny randomly
// initialised model (init_model, seed 5) for the whole test binary, and
// small file writers. Tests only; not part of enclave_eval.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "model/engine.h"
#include "store/store_testing.h"

namespace enclave::eval::testing {

// The directory of the shared tiny model, created on first use.
const std::filesystem::path& tiny_model_dir();
// The shared engine over it (f32, cpu).
const Engine& tiny_engine();

void write_jsonl(const std::filesystem::path& path, const std::vector<nlohmann::json>& docs);

}  // namespace enclave::eval::testing
