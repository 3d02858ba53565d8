#include "train/schedule.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace enclave::train {

LrSchedule::LrSchedule(double lr, LrScheduler kind, std::int64_t warmup_steps,
                       std::int64_t total_steps, double min_lr_ratio)
    : lr_(lr),
      kind_(kind),
      warmup_steps_(warmup_steps),
      total_steps_(total_steps),
      min_lr_ratio_(min_lr_ratio) {
  if (!(lr > 0)) fail_input("lr: {} must be positive", lr);
  if (warmup_steps < 0) fail_input("warmup_steps: {} must be >= 0", warmup_steps);
  if (total_steps < 1) fail_input("schedule: total steps {} must be >= 1", total_steps);
}

double LrSchedule::lr_at(std::int64_t step) const {
  // HF's warmup gives step 0 an lr of 0; (step + 1) makes the first step count.
  if (step < warmup_steps_)
    return lr_ * static_cast<double>(step + 1) / static_cast<double>(warmup_steps_);
  const double decay_steps =
      static_cast<double>(std::max<std::int64_t>(1, total_steps_ - warmup_steps_));
  const double progress =
      std::clamp(static_cast<double>(step - warmup_steps_) / decay_steps, 0.0, 1.0);
  double factor = 1.0;
  switch (kind_) {
    case LrScheduler::kConstant:
      return lr_;
    case LrScheduler::kLinear:
      factor = 1.0 - progress;
      break;
    case LrScheduler::kCosine:
      factor = 0.5 * (1.0 + std::cos(M_PI * progress));
      break;
  }
  return lr_ * (min_lr_ratio_ + (1.0 - min_lr_ratio_) * factor);
}

}  // namespace enclave::train
