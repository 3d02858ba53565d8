// DP-SGD's gradient (Abadi et al. 2016, "Deep Learning with Differential
// Privacy", Algorithm 1), for the training loop (train.cpp):
//   1. Poisson sampling: each of the N training examples joins the step's
//      batch independently with probability q = batch_size / N, so the
//      batch size varies from step to step and may be 0;
//   2. each example's gradient, computed alone (a forward and backward pass
//      of its own: libtorch's C++ API has no vmap), is scaled to L2 norm at
//      most C over all trainable tensors together;
//   3. the clipped gradients are summed, Gaussian noise N(0, sigma^2 C^2) is
//      added to every coordinate, and the result is divided by the expected
//      batch size q N (not the drawn one, whose size would leak).
// The optimiser then steps as usual. What the accountant (dp_accountant.h)
// bounds is exactly this release: one example changes the clipped sum by
// at most C, and the noise hides it at noise multiplier sigma.
//
// The sampling and the noise come from generators seeded from the
// operating system's entropy (std::random_device), never from the run's
// stored seed, so neither can be recomputed from the run's params. They are
// Mersenne Twisters, not cryptographic generators (as Opacus without
// secure_mode). Data-parallel processes share one seed (rank 0's, sent in
// the first reduction), so all draw the same batch and the same noise.
// Thread safety: one DpSgd per training loop.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <vector>

#include "model/transformer.h"
#include "train/objectives.h"

namespace enclave::train {

struct DpSgdOptions {
  double noise_multiplier = 1.0;     // sigma
  double max_grad_norm = 1.0;        // C, the per-example bound
  double expected_batch_size = 1.0;  // q N
};

// A seed for DpSgd from the operating system's entropy, below 2^52 so it
// travels exactly through a float64 reduction.
std::uint64_t dp_entropy_seed();

class DpSgd {
 public:
  // params: the trainable tensors (leaves that require grad), in a fixed
  // order; their .grad receives the noisy mean gradient.
  DpSgd(std::vector<torch::Tensor> params, DpSgdOptions options, std::uint64_t seed);

  // Step 1: the indices in [0, n) that join this step's batch, each with
  // probability q, in increasing order.
  std::vector<std::size_t> sample(std::size_t n, double q);

  // Step 2: takes the gradients now in the params' .grad (an undefined grad
  // counts as zero) as one example's, adds them scaled to norm at most C to
  // the running sum, and zeroes .grad for the next example. Returns the
  // norm before scaling.
  double add_example();

  // The running sums of clipped gradients (fp32, one per param), for
  // data-parallel processes to all-reduce in place before finish_step.
  std::vector<torch::Tensor>& clipped_sums() { return sums_; }

  // Step 3: writes (sum + N(0, sigma^2 C^2)) / (q N) into each param's
  // .grad (in the param's dtype) and resets the sums. Returns the L2 norm
  // of the written gradient.
  double finish_step();

  const DpSgdOptions& options() const { return options_; }

 private:
  std::vector<torch::Tensor> params_;
  std::vector<torch::Tensor> sums_;
  DpSgdOptions options_;
  std::mt19937_64 sampler_;
  at::Generator noise_;
};

// What step 2 gives back over a batch: the objective's metric sums as
// run_objective would report them for the whole batch (loss divided by
// the batch's normaliser), and how many examples had their gradient scaled down.
struct PrivateBatch {
  std::vector<double> sums;
  std::int64_t n_clipped = 0;
};

// Step 2 over `examples`: each goes through the objective alone, its loss
// divided by its own normaliser (an SFT example's mean loss over its
// target tokens), and its gradient is added clipped to dp's sums.
// `normaliser` is the whole batch's, for the reported loss only.
PrivateBatch add_examples(DpSgd& dp, Objective& objective, TransformerImpl& model,
                          const std::vector<std::size_t>& examples, double normaliser);

}  // namespace enclave::train
