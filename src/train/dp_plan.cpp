#include "train/dp_plan.h"

#include <fmt/format.h>

#include <limits>

#include "core/error.h"

namespace enclave::train {
namespace {

DpResult checked_plan(const TrainConfig& config, std::int64_t n, std::int64_t total_steps) {
  const double delta = *config.dp_delta;
  if (config.batch_size > n) {
    fail_input(
        "dp: batch_size {} is larger than the {} training examples; DP-SGD samples each "
        "example with probability batch_size / examples",
        config.batch_size, n);
  }
  // delta is the chance the guarantee fails outright; at 1/N or more a
  // mechanism that publishes one whole example at random would satisfy it.
  if (delta >= 1.0 / static_cast<double>(n)) {
    fail_input(
        "dp_delta: {} is not below 1 / {} training examples = {:.3g}; choose a smaller "
        "delta (commonly well below 1/N, e.g. 1e-5)",
        delta, n, 1.0 / static_cast<double>(n));
  }
  DpResult r;
  r.target_epsilon = *config.dp_epsilon;
  r.delta = delta;
  r.sampling_rate = static_cast<double>(config.batch_size) / static_cast<double>(n);
  r.noise_multiplier = noise_multiplier_for(r.target_epsilon, delta, r.sampling_rate, total_steps);
  r.max_grad_norm = *config.dp_max_grad_norm;
  r.n_examples = n;
  r.total_steps = total_steps;
  return r;
}

}  // namespace

DpPlan::DpPlan(const TrainConfig& config, std::int64_t n_examples, std::int64_t total_steps)
    : result_(checked_plan(config, n_examples, total_steps)),
      accountant_(result_.sampling_rate, result_.noise_multiplier) {}

std::string DpPlan::description() const {
  return fmt::format(
      "dp: DP-SGD over {} examples, sampling rate {:.4g}, {} steps, noise multiplier {:.4f} "
      "for epsilon {} at delta {:g}, clipping at {}",
      result_.n_examples, result_.sampling_rate, result_.total_steps, result_.noise_multiplier,
      result_.target_epsilon, result_.delta, result_.max_grad_norm);
}

void DpPlan::record_step(std::int64_t step, std::size_t batch_size, double n_clipped,
                         StepReport& report) {
  const PrivacySpent spent = accountant_.spent(step, result_.delta);
  result_.epsilon = spent.epsilon;
  result_.order = spent.order;
  result_.steps = step;
  report.extra["dp/epsilon"] = spent.epsilon;
  report.extra["dp/batch_size"] = static_cast<double>(batch_size);
  report.extra["dp/clipped_fraction"] =
      batch_size == 0 ? 0.0 : n_clipped / static_cast<double>(batch_size);
  if (batch_size == 0) report.loss = std::numeric_limits<double>::quiet_NaN();
}

}  // namespace enclave::train
