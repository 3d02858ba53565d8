// y = x W^T + b for inference on the CPU, as torch::linear computes it, with
// float32 products split over torch's threads. Debian's libtorch hands
// float32 products to OpenBLAS, which runs single-threaded beside torch's
// OpenMP threads (engine.h, apply_compute_threads): one product then used
// one core. Here each thread multiplies its own rows of x through the same
// BLAS call, so a prefill uses every core; everything else (bfloat16, which
// oneDNN threads itself; autograd; GPUs; few rows; a BLAS that runs its
// own threads) is torch::linear.
// Thread safety: reentrant.
#pragma once

#include <torch/torch.h>

namespace enclave {

torch::Tensor cpu_linear(const torch::Tensor& x, const torch::Tensor& weight,
                         const torch::Tensor& bias = {});

}  // namespace enclave
