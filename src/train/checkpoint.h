// Training checkpoints: one folder per save, <checkpoint_dir>/step-00000100/,
// written through a staging folder so it appears whole or not at all, the
// oldest removed beyond keep_checkpoints. Contents:
//   trainer_state.json        format_version, step, phase, data position,
//                             early-stopping state, the resolved config
//   model.safetensors         every trained weight (full fine-tuning), or
//   adapter_config.json + adapter_model.safetensors  (LoRA, PEFT layout)
//   optimizer.safetensors     AdamW moments, fp32 masters, step count
//   state.safetensors         RNG state, sDPO chunks, cached DPO reference
//                             log-probs (anything else tensor-shaped)
// Thread safety: stateless functions; one writer per checkpoint_dir.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace enclave::train {

inline constexpr int kCheckpointFormatVersion = 1;
inline constexpr const char* kTrainerStateFile = "trainer_state.json";

// Writes tensors (contiguous CPU copies are made) as a safetensors file.
// Supports float32/64, bfloat16, float16, int64/32, uint8 and bool.
void save_tensor_file(const std::filesystem::path& path,
                      const std::map<std::string, torch::Tensor>& tensors);
// Reads every tensor of a safetensors file (copies, CPU). Throws like
// SafetensorsFile.
std::map<std::string, torch::Tensor> load_tensor_file(const std::filesystem::path& path);

// "step-00000100".
std::string checkpoint_name(std::int64_t step);
// Checkpoint folders in dir, oldest first (by step). Ignores other entries.
std::vector<std::filesystem::path> list_checkpoints(const std::filesystem::path& dir);
// Removes all but the newest `keep` checkpoints.
void prune_checkpoints(const std::filesystem::path& dir, std::int64_t keep);

// Reads and checks trainer_state.json: format version, mode. Throws
// Error(kNotFound) for a folder that is not a checkpoint and
// Error(kInvalidInput) for a bad or foreign one.
nlohmann::json read_trainer_state(const std::filesystem::path& checkpoint);

// The checkpoint folder `resume` names: itself, or with "latest" the newest
// in checkpoint_dir. Throws Error(kNotFound) when there is none.
std::filesystem::path resolve_resume(const std::string& resume,
                                     const std::filesystem::path& checkpoint_dir);

}  // namespace enclave::train
