// AdamW (Loshchilov & Hutter 2019) with torch.optim.AdamW's arithmetic:
//   p *= 1 - lr * wd;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// Weight decay is not applied to norms and biases (one-dimensional
// tensors), as Hugging Face's Trainer groups them. Parameters that are not
// fp32 (bf16 training) are updated through fp32 master copies the optimiser
// owns; the model's tensor gets the rounded master after each step. Also
// the global gradient-norm clipping of torch.nn.utils.clip_grad_norm_.
// Thread safety: one optimiser per training loop.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace enclave::train {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  double weight_decay = 0.0;
};

class AdamW {
 public:
  // params: (name, tensor) pairs, each a leaf that requires grad.
  AdamW(std::vector<std::pair<std::string, torch::Tensor>> params, AdamWOptions options);

  // One update with learning rate lr; parameters without a gradient are skipped.
  void step(double lr);
  void zero_grad();
  std::int64_t n_steps() const { return n_steps_; }

  // State tensors by name ("exp_avg/<param>", "exp_avg_sq/<param>",
  // "master/<param>") plus "step", for checkpoints.
  std::map<std::string, torch::Tensor> state() const;
  // Restores state(); throws Error(kInvalidInput) naming a missing or
  // mis-shaped tensor.
  void load_state(const std::map<std::string, torch::Tensor>& state, const std::string& what);

  static bool decays(const torch::Tensor& param) { return param.dim() >= 2; }

 private:
  struct Slot {
    std::string name;
    torch::Tensor param;
    torch::Tensor master;  // fp32 copy when param is not fp32, else undefined
    torch::Tensor exp_avg;
    torch::Tensor exp_avg_sq;
  };
  std::vector<Slot> slots_;
  AdamWOptions options_;
  std::int64_t n_steps_ = 0;
};

// Scales all gradients so their global L2 norm is at most max_norm (no-op
// when max_norm is 0). Returns the norm before clipping.
double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

}  // namespace enclave::train
