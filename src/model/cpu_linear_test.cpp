#include "model/cpu_linear.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include "model/engine.h"

namespace enclave {
namespace {

TEST(CpuLinearTest, SplitProductsEqualTorchLinear) {
  apply_compute_threads(2, /*f32=*/true);
  c10::InferenceMode guard;
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({2, 37, 96});
  const torch::Tensor w = torch::randn({80, 96});
  const torch::Tensor b = torch::randn({80});
  for (const bool with_bias : {false, true}) {
    const torch::Tensor want = torch::linear(x, w, with_bias ? b : torch::Tensor());
    const torch::Tensor got = cpu_linear(x, w, with_bias ? b : torch::Tensor());
    ASSERT_EQ(got.sizes(), want.sizes());
    EXPECT_LT((got - want).abs().max().item<double>(), 1e-4);
  }
  // bf16 and few rows take torch::linear itself.
  const torch::Tensor xb = x.to(torch::kBFloat16), wb = w.to(torch::kBFloat16);
  EXPECT_TRUE(torch::equal(cpu_linear(xb, wb), torch::linear(xb, wb)));
  EXPECT_TRUE(torch::equal(cpu_linear(x.narrow(1, 0, 3), w), torch::linear(x.narrow(1, 0, 3), w)));
}

TEST(CpuLinearTest, AutogradKeepsTorchLinear) {
  torch::Tensor x = torch::randn({40, 16}, torch::requires_grad());
  const torch::Tensor w = torch::randn({8, 16});
  cpu_linear(x, w).sum().backward();
  EXPECT_TRUE(torch::allclose(x.grad(), w.sum(0).expand({40, 16})));
}

// Debian 12's OpenBLAS falls back to SSE3 kernels on CPUs it does not know;
// on a CPU with AVX2 the core in use must be one of its AVX2 or AVX-512 ones.
TEST(CpuLinearTest, BlasKernelsFitTheCpu) {
  const std::string core = select_blas_kernels();
  if (core.empty()) GTEST_SKIP() << "the BLAS is not OpenBLAS";
  std::printf("OpenBLAS core: %s\n", core.c_str());
  if (!__builtin_cpu_supports("avx2")) GTEST_SKIP() << "no AVX2";
  EXPECT_NE(core, "Prescott");
  EXPECT_NE(core, "Core2");
}

}  // namespace
}  // namespace enclave
