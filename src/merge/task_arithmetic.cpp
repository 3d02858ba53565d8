// Task arithmetic (Ilharco et al. 2023, "Editing models with task
// arithmetic", arXiv:2212.04089) and its sparsified, sign-elected variants
// TIES (arXiv:2306.01708) and DARE (arXiv:2311.03099), in the one
// generalized form mergekit uses (merge_methods/generalized_task_arithmetic.py):
//
//   delta_i  = sparsify(x_i - base)                  trim (TIES) or drop (DARE)
//   wd_i     = w_i * delta_i
//   sign     = +1 where sum_i wd_i >= 0, else -1     TIES sign election
//   mask_i   = sign(wd_i) == sign                    (all ones without election)
//   merged   = sum_i mask_i wd_i  [/ sum_i mask_i w_i (|.| < 1e-8 -> 1), when normalising]
//   out      = base + lambda * merged
//
// A zero delta has sign 0 and never agrees, so trimmed entries do not count
// towards the divisor: the "disjoint mean" of the TIES paper.
#include <cmath>
#include <vector>

#include "core/error.h"
#include "merge/methods.h"
#include "merge/sparsify.h"

namespace enclave::merge {

void task_arithmetic_merge(std::span<const float> base, const std::vector<TaskVectorInput>& inputs,
                           const TaskArithmeticOptions& options, std::span<float> out) {
  ENCLAVE_CHECK(base.size() == out.size());
  const std::size_t n = out.size();
  // One delta buffer per input: the memory of a merge is a few copies of
  // the largest tensor, never of a model.
  std::vector<std::vector<float>> deltas(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    ENCLAVE_CHECK(inputs[i].model.size() == n);
    std::vector<float>& d = deltas[i];
    d.resize(n);
    for (std::size_t j = 0; j < n; ++j) d[j] = inputs[i].model[j] - base[j];
    switch (options.sparsification) {
      case Sparsification::kNone:
        break;
      case Sparsification::kMagnitude:
        trim_by_magnitude(d, inputs[i].density);
        break;
      case Sparsification::kRandom:
        drop_random(d, inputs[i].density, inputs[i].seed, options.rescale);
        break;
    }
  }

  for (std::size_t j = 0; j < n; ++j) {
    double elected = 1.0;
    if (options.sign_consensus) {
      double sum = 0.0;
      for (std::size_t i = 0; i < inputs.size(); ++i) sum += inputs[i].weight * deltas[i][j];
      elected = sum >= 0.0 ? 1.0 : -1.0;
    }
    double merged = 0.0, divisor = 0.0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const double wd = inputs[i].weight * static_cast<double>(deltas[i][j]);
      if (options.sign_consensus) {
        const double sign = wd > 0.0 ? 1.0 : (wd < 0.0 ? -1.0 : 0.0);
        if (sign != elected) continue;
      }
      merged += wd;
      divisor += inputs[i].weight;
    }
    if (options.normalize) {
      if (std::fabs(divisor) < 1e-8) divisor = 1.0;  // as mergekit: nothing agreed, keep the sum
      merged /= divisor;
    }
    out[j] = static_cast<float>(static_cast<double>(base[j]) + options.lambda * merged);
  }
}

}  // namespace enclave::merge
