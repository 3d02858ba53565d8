// The training loop behind `enclave train pretrain|sft|dpo|sdpo`, without
// the store: load the model (full weights or base + new LoRA adapter), read
// and tokenise the data, then per optimiser step: take batch_size examples
// (this process's share when data parallel), run them in micro-batches of
// at most micro_batch_tokens padded tokens accumulating gradients, all-reduce
// gradients across processes, clip, AdamW with the scheduled lr. Validation
// loss every eval_every steps, checkpoints every save_every steps (and on
// request_stop, e.g. Ctrl-C), resume from a checkpoint exactly.
//
// DPO's reference log-probs are computed once per phase with the model as
// it stands at the phase start (with LoRA: adapters disabled), cached and
// checkpointed, so no second copy of the model is held. sDPO (Kim et al.
// 2024, "sDPO: Don't Use Your Data All at Once", the SOLAR alignment recipe)
// runs one DPO phase per chunk, each starting from the previous phase's
// model, which also becomes its reference.
//
// With dp_epsilon set (pretrain, sft) each step is DP-SGD instead: a
// Poisson-sampled batch, per-example clipped gradients and Gaussian noise
// (dp_sgd.h), the noise multiplier chosen by the RDP accountant
// (dp_accountant.h) so that the whole run spends at most dp_epsilon at
// dp_delta; StepReport.extra carries "dp/epsilon" (spent so far),
// "dp/batch_size" and "dp/clipped_fraction". An empty sampled batch still
// takes a noise-only step; its loss is reported as NaN.
//
// Torch-free header (the CLI and the store layer include it).
// Thread safety: one train() per process; request_stop() may be called from
// a signal handler.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "train/train_config.h"

namespace enclave::train {

// Data files, already resolved to paths.
struct TrainData {
  std::filesystem::path train_file;
  std::vector<std::filesystem::path> chunk_files;  // sdpo with sdpo_split=files
  std::filesystem::path eval_file;                 // empty: no validation
  // Where every data file (training, chunk and eval files) is tokenised to,
  // once per content (train/token_cache.h); empty: a scratch folder removed
  // at the end.
  std::filesystem::path token_cache_dir;
};

// This process's place in a data-parallel job (world_size 1: alone).
struct DistOptions {
  int rank = 0;
  int world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
};

struct StepReport {
  std::int64_t step = 0;  // 1-based count of optimiser steps done
  std::int64_t total_steps = 0;
  double loss = 0;
  double lr = 0;
  double grad_norm = 0;
  double tokens_per_s = 0;
  std::int64_t tokens = 0;              // tokens in this step, all processes
  double elapsed_s = 0;                 // since the start of this process's loop
  std::map<std::string, double> extra;  // DPO: rewards/chosen, rewards/accuracies, ...
};

struct TrainCallbacks {
  std::function<void(const StepReport&)> on_step;
  // Validation metrics ("eval/loss", ...) after `step` steps.
  std::function<void(std::int64_t step, const std::map<std::string, double>&)> on_eval;
  std::function<void(const std::filesystem::path& checkpoint, std::int64_t step)> on_checkpoint;
  std::function<void(const std::string& message)> on_message;  // notes for the log
};

// The privacy guarantee of a DP-SGD run (dp_sgd.h, dp_accountant.h).
struct DpResult {
  double epsilon = 0;           // spent over the steps run (at most the target)
  double target_epsilon = 0;    // dp_epsilon: what the noise was chosen for
  double delta = 0;             // dp_delta
  double noise_multiplier = 0;  // sigma: noise stddev / max_grad_norm
  double sampling_rate = 0;     // q = batch_size / n_examples
  double max_grad_norm = 0;     // C
  double order = 0;             // the Renyi order that gave epsilon
  std::int64_t n_examples = 0;  // N: training sequences, the unit protected
  std::int64_t steps = 0;       // steps run (total_steps when not interrupted)
  std::int64_t total_steps = 0;
};

struct TrainResult {
  std::int64_t steps = 0;       // optimiser steps done in total (including before a resume)
  std::int64_t start_step = 0;  // where this process started (resume)
  std::vector<double> losses;   // one per step this process ran
  bool interrupted = false;     // stopped by request_stop; a checkpoint was written
  bool early_stopped = false;
  std::filesystem::path last_checkpoint;
  bool adapter = false;  // output_dir holds a PEFT adapter, not a model
  std::map<std::string, double> final_eval;
  std::int64_t tokens = 0;
  double seconds = 0;
  std::int64_t n_parameters = 0;
  std::int64_t n_trainable = 0;
  std::optional<DpResult> dp;  // set when training with DP-SGD
  // The training data's token cache: its key (sDPO's chunk files: their
  // keys, comma-separated), and whether it was read from an earlier run's
  // cache instead of tokenised (every chunk file's).
  std::string token_cache_key;
  bool token_cache_hit = false;
  // Resident memory in KiB (/proc/self/status; 0 where unknown): before the
  // training data is read, the peak while reading it (the peak is reset
  // first), and the peak at the end.
  std::int64_t rss_kb_before_data = 0;
  std::int64_t peak_rss_kb_data = 0;
  std::int64_t peak_rss_kb_end = 0;
};

// Trains and, unless interrupted, writes the result to output_dir (rank 0
// only): a model directory (HF layout, tokenizer files copied) or a PEFT
// adapter directory. output_dir must not exist or be empty. Throws
// Error(kInvalidInput) for bad data or settings, Error(kNotFound) for
// missing files, and what Engine::load throws for a bad model.
TrainResult train(const TrainConfig& config, const std::filesystem::path& model_dir,
                  const TrainData& data, const std::filesystem::path& output_dir,
                  const TrainCallbacks& callbacks, const DistOptions& dist = {});

// Asks a running train() to checkpoint and return after the current step.
// Async-signal-safe.
void request_stop();
// Clears a pending request (tests run several trainings in one process).
void clear_stop_request();

}  // namespace enclave::train
