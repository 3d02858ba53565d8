// The merge kernels: one output tensor from the same tensor of several
// models, all as float32 buffers of equal length (the caller converts from
// and to the stored dtype). Each follows mergekit's definition so configs
// give the results users expect:
//   linear          sum_i w_i x_i, divided by sum_i w_i when normalising
//   slerp           spherical interpolation from v0 (t = 0) to v1 (t = 1),
//                   linear when the two are nearly colinear (|cos| > 0.9995)
//   task arithmetic base + lambda * sum_i w_i (x_i - base) [/ sum_i w_i]
//   TIES            task vectors trimmed by magnitude, a sign elected per
//                   entry from the sum of weighted deltas (>= 0 is +), and
//                   only deltas agreeing with it merged (disjoint mean)
//   DARE            task vectors randomly dropped and rescaled, then merged
//                   with TIES's sign election (dare_ties) or linearly
// Sums are accumulated in double, so a model merged with itself comes back
// bit for bit.
// Torch-free. Thread safety: stateless functions.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace enclave::merge {

// out = sum_i weights[i] * tensors[i] (/ sum of weights when normalize).
// Throws Error(kInvalidInput) naming `tensor_name` when normalising weights
// that sum to zero.
void linear_merge(const std::vector<std::span<const float>>& tensors,
                  const std::vector<double>& weights, bool normalize, std::span<float> out,
                  std::string_view tensor_name);

// Spherical linear interpolation over the whole tensor, as mergekit's slerp:
// the angle comes from the normalised tensors, the result mixes the
// unnormalised ones. t = 0 gives v0 and t = 1 gives v1 exactly.
void slerp(double t, std::span<const float> v0, std::span<const float> v1, std::span<float> out);

enum class Sparsification { kNone, kMagnitude, kRandom };

struct TaskVectorInput {
  std::span<const float> model;  // the model's tensor (not yet a delta)
  double weight = 1.0;
  double density = 1.0;
  std::uint64_t seed = 0;  // for Sparsification::kRandom
};

struct TaskArithmeticOptions {
  Sparsification sparsification = Sparsification::kNone;
  bool sign_consensus = false;  // TIES sign election
  bool normalize = false;       // divide by the (agreeing) weights
  bool rescale = true;          // DARE: divide survivors by density
  double lambda = 1.0;          // scales the merged delta
};

// The generalized task arithmetic of mergekit (task_arithmetic, ties,
// dare_ties, dare_linear are option sets of it).
void task_arithmetic_merge(std::span<const float> base, const std::vector<TaskVectorInput>& inputs,
                           const TaskArithmeticOptions& options, std::span<float> out);

}  // namespace enclave::merge
