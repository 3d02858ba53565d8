// `enclave train pretrain|sft|dpo|sdpo` as a store run: resolves the model
// and data references, records the run (kind "train", params = the resolved
// config, inputs = base model and dataset versions or stored files), logs
// loss, lr, grad_norm, tokens/s (and DPO rewards, DP-SGD's dp/epsilon) per step, validation
// metrics and checkpoints, shows a progress line (step, loss, tokens/s,
// ETA), and registers the result (model or PEFT adapter, tag
// "type=adapter") as the next version of --out, produced by the run, so
// lineage leads back to the base model and the data.
//
// Data parallel: with nproc > 1 this process becomes a launcher that starts
// nproc copies of the same command line (like torchrun), each told its
// local rank by $ENCLAVE_TRAIN_LOCAL_RANK; global rank = node_rank * nproc +
// local rank, world = nnodes * nproc. Only global rank 0 writes to the
// store and to disk. Ctrl-C (SIGINT) or SIGTERM: the step finishes, a
// checkpoint is written, the run is marked killed and the exit code is 130.
// Torch-free. Thread safety: one command per process (installs signal handlers).
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "store/registry.h"
#include "store/workspace.h"
#include "train/train.h"
#include "train/train_config.h"

namespace enclave::train {

inline constexpr const char* kLocalRankEnv = "ENCLAVE_TRAIN_LOCAL_RANK";

struct TrainCommand {
  TrainConfig config;  // as parsed; defaults are resolved here
  store::FindOptions workspace;
  std::vector<std::string> argv;      // the full command line (re-run by the launcher)
  std::filesystem::path config_file;  // recorded as input "train_config" when set
};

struct TrainCommandResult {
  int exit_code = 0;  // 0 done, 130 interrupted (checkpoint written), else a worker's failure
  std::int64_t run_id = 0;
  store::VersionInfo version;  // the registered result (rank 0, when done)
  TrainResult train;
};

// Runs the command as described above. Throws Error for bad settings, a
// missing workspace, model or data (the run, if started, is marked failed).
TrainCommandResult run_train_command(const TrainCommand& command);

// A DP-SGD run's guarantee as the run's params ("dp") and the CLI's
// summary show it: epsilon spent, target_epsilon, delta, noise_multiplier,
// sampling_rate, max_grad_norm, order, n_examples, steps, total_steps, accountant.
nlohmann::json dp_summary(const DpResult& dp);

// The path of a dataset reference or JSONL file: an existing file is used as
// is; else the dataset version's checkout, which must be a JSONL file or a
// folder with one (train.jsonl preferred); "NAME@V:PART" picks PART.jsonl of
// a version holding several (`feedback export` writes sft.jsonl and
// preference.jsonl). Throws Error(kNotFound), or Error(kInvalidInput) for a
// version holding several .jsonl files and no PART, unless one is
// PREFER.jsonl (train sft prefers sft, train dpo preference).
std::filesystem::path resolve_data_ref(store::Workspace& workspace, const std::string& ref,
                                       std::optional<store::VersionInfo>* version = nullptr,
                                       std::string_view prefer = "");

}  // namespace enclave::train
