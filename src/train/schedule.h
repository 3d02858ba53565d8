// Learning-rate schedule: linear warmup from 0 to lr over warmup_steps, then
// cosine, linear or constant decay to min_lr_ratio * lr at total_steps, as
// Hugging Face's get_{cosine,linear,constant}_schedule_with_warmup (with a
// floor). Steps count from 0; step s uses lr_at(s).
// Torch-free. Thread safety: immutable value.
#pragma once

#include <cstdint>

#include "train/train_config.h"

namespace enclave::train {

class LrSchedule {
 public:
  // Throws Error(kInvalidInput) for lr <= 0, negative warmup or total_steps < 1.
  LrSchedule(double lr, LrScheduler kind, std::int64_t warmup_steps, std::int64_t total_steps,
             double min_lr_ratio);
  double lr_at(std::int64_t step) const;

 private:
  double lr_;
  LrScheduler kind_;
  std::int64_t warmup_steps_;
  std::int64_t total_steps_;
  double min_lr_ratio_;
};

}  // namespace enclave::train
