// The trainer behind train() (train.h), internal to src/train: its state
// and steps (train.cpp) and its checkpoints (trainer_checkpoint.cpp).
#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/file.h"
#include "core/process_memory.h"
#include "core/staging_dir.h"
#include "model/lora.h"
#include "model/save.h"
#include "model/weights.h"
#include "train/adamw.h"
#include "train/autocast_scope.h"
#include "train/batching.h"
#include "train/checkpoint.h"
#include "train/distributed.h"
#include "train/dp_plan.h"
#include "train/dp_sgd.h"
#include "train/grad_checkpoint.h"
#include "train/objectives.h"
#include "train/schedule.h"
#include "train/sdpo.h"
#include "train/token_cache.h"

namespace enclave::train::detail {

using Clock = std::chrono::steady_clock;

// A seed from two: steps and phases draw their own streams.
inline std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  std::uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The examples of one phase: a list of indices (an sDPO chunk), or all of
// the objective's, held as a count (a large pretraining set has millions of
// sequences; a list would cost 8 bytes each).
struct PhaseExamples {
  std::size_t n_all = 0;         // with ids empty: examples 0 .. n_all - 1
  std::vector<std::size_t> ids;  // else these
  std::size_t size() const { return ids.empty() ? n_all : ids.size(); }
  std::size_t operator[](std::size_t i) const { return ids.empty() ? i : ids[i]; }
  std::vector<std::size_t> list() const {
    if (!ids.empty()) return ids;
    std::vector<std::size_t> out(n_all);
    for (std::size_t i = 0; i < n_all; ++i) out[i] = i;
    return out;
  }
};

// What one phase (all of training, or one sDPO chunk) steps through.
struct PhaseState {
  const PhaseExamples& examples;  // indices into the objective's examples
  DataOrder order;
  AdamW optimizer;
  LrSchedule schedule;
};

// Everything the loop works on. run() reads as the loop does: per phase
// begin_phase(), then per step train_step(), maybe_evaluate(),
// maybe_checkpoint(); finish() evaluates and saves the result.
class Trainer {
 public:
  Trainer(const TrainConfig& config, const std::filesystem::path& model_dir, const TrainData& data,
          const TrainCallbacks& callbacks, const DistOptions& dist);
  TrainResult run(const std::filesystem::path& output_dir);

 private:
  void load_model();
  void load_data();
  void resume_from(const std::filesystem::path& checkpoint);
  std::int64_t phase_steps(std::size_t phase) const;
  void set_reference(DpoObjective& objective, const std::vector<std::size_t>& indices,
                     bool base_model);
  std::vector<double> reduce(std::vector<double> values);
  void all_reduce_grads();
  // This process's share of batch through the objective, in micro-batches;
  // the sums of its terms (not yet reduced across processes).
  std::vector<double> run_objective(Objective& objective, const std::vector<std::size_t>& batch,
                                    double normaliser);
  std::map<std::string, double> evaluate();
  // The example indices of each phase: all of them, or sDPO's chunks.
  void plan_phases();
  // DP-SGD: the noise multiplier for the run's budget, the shared seed.
  void setup_dp();
  // A fresh phase sets its DPO references; a resumed one restores its data
  // position and optimiser state.
  void begin_phase(PhaseState& phase);
  // One optimiser step over the next batch; true when a stop was requested.
  bool train_step(PhaseState& phase);
  // Validation every eval_every steps (not the last), and early stopping.
  void maybe_evaluate();
  // A checkpoint every save_every steps, and on a stop request.
  void maybe_checkpoint(const PhaseState& phase, bool stop);
  // The final validation and the output directory.
  void finish(const std::filesystem::path& output_dir);
  void save_checkpoint(const DataOrder& order, const AdamW& optimizer);
  void save_output(const std::filesystem::path& output_dir);
  void message(const std::string& text) const {
    if (callbacks_.on_message && dist_.rank == 0) callbacks_.on_message(text);
  }

  TrainConfig config_;
  std::filesystem::path model_dir_;
  TrainData data_;
  TrainCallbacks callbacks_;
  DistOptions dist_;
  std::unique_ptr<ProcessGroup> group_;
  torch::Device device_{torch::kCPU};

  Transformer model_{nullptr};
  std::shared_ptr<LoraAdapter> lora_;
  std::vector<std::pair<std::string, torch::Tensor>> trainable_;
  std::unique_ptr<Objective> objective_;
  std::unique_ptr<Objective> eval_objective_;
  std::vector<PhaseExamples> phases_;  // example indices of each phase (sdpo chunks)
  std::vector<std::int64_t> chunk_of_file_;
  std::vector<nlohmann::json> sdpo_field_values_;  // sdpo_split field: each record's value

  // Position (restored on resume).
  std::int64_t step_ = 0;
  std::size_t phase_ = 0;
  std::int64_t phase_step_ = 0;
  DataPosition data_position_;
  std::map<std::string, torch::Tensor>
      optimizer_state_;  // from a checkpoint, for the resumed phase
  double best_eval_ = std::numeric_limits<double>::infinity();
  std::int64_t evals_without_improvement_ = 0;
  TrainResult result_;

  // DP-SGD (set by setup_dp when dp_epsilon is).
  std::unique_ptr<DpSgd> dp_;
  std::unique_ptr<DpPlan> dp_plan_;

  // Set by run().
  std::int64_t total_steps_ = 0;
  Clock::time_point start_;
  std::vector<torch::Tensor> params_;  // the trainable tensors, for clipping
};

}  // namespace enclave::train::detail
