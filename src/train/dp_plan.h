// The DP-SGD plan of a run (train.cpp): the settings checked against the
// training data, the noise multiplier that keeps the whole run within
// (dp_epsilon, dp_delta), and the privacy spent as steps are taken.
// Thread safety: none; one per run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "train/dp_accountant.h"
#include "train/train.h"
#include "train/train_config.h"

namespace enclave::train {

class DpPlan {
 public:
  // Refuses a batch larger than the data and a delta at or above 1/N.
  DpPlan(const TrainConfig& config, std::int64_t n_examples, std::int64_t total_steps);

  double sampling_rate() const { return result_.sampling_rate; }
  double noise_multiplier() const { return result_.noise_multiplier; }
  const DpResult& result() const { return result_; }
  std::string description() const;  // one line for the run's log

  // The guarantee after `step` steps, and the step's privacy metrics
  // (dp/epsilon, dp/batch_size, dp/clipped_fraction) into `report`.
  void record_step(std::int64_t step, std::size_t batch_size, double n_clipped, StepReport& report);

 private:
  DpResult result_;
  RdpAccountant accountant_;
};

}  // namespace enclave::train
