#include "model/cpu_linear.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <vector>

namespace enclave {
namespace {

// Rows per thread below which one call is as fast (the weight is read once
// per thread, so few rows gain nothing).
constexpr std::int64_t kRowsPerThread = 8;

// True when the BLAS is OpenBLAS set to one thread (apply_compute_threads
// does that for float32 inference); a multi-threaded BLAS keeps its own.
bool blas_single_threaded() {
  using Fn = int (*)();
  static const auto fn = reinterpret_cast<Fn>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return fn != nullptr && fn() == 1;
}

}  // namespace

torch::Tensor cpu_linear(const torch::Tensor& x, const torch::Tensor& weight,
                         const torch::Tensor& bias) {
  const std::int64_t k = x.size(-1);
  const std::int64_t m = k > 0 ? x.numel() / k : 0;
  const int threads = at::get_num_threads();
  if (x.scalar_type() != torch::kFloat32 || weight.scalar_type() != torch::kFloat32 ||
      !x.device().is_cpu() || threads < 2 || m < 2 * kRowsPerThread || at::in_parallel_region() ||
      !blas_single_threaded() ||
      (torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad())))
    return torch::linear(x, weight, bias);
  const torch::Tensor x2 = x.reshape({m, k}).contiguous();
  const torch::Tensor wt = weight.t();
  const std::int64_t n = weight.size(0);
  torch::Tensor y = torch::empty({m, n}, x.options());
  const std::int64_t parts = std::min<std::int64_t>(threads, m / kRowsPerThread);
  at::parallel_for(0, parts, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t p = begin; p < end; ++p) {
      const std::int64_t r0 = m * p / parts, r1 = m * (p + 1) / parts;
      torch::Tensor out = y.narrow(0, r0, r1 - r0);
      if (bias.defined())
        torch::addmm_out(out, bias, x2.narrow(0, r0, r1 - r0), wt);
      else
        torch::mm_out(out, x2.narrow(0, r0, r1 - r0), wt);
    }
  });
  std::vector<std::int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.back() = n;
  return y.view(shape);
}

}  // namespace enclave
