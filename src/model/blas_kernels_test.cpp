#include <gtest/gtest.h>

#include <string>

#include "model/engine.h"

namespace enclave {
namespace {

// Debian 12's OpenBLAS falls back to SSE3 kernels on CPUs it does not know;
// on a CPU with AVX2 the core in use must be one of its AVX2 or AVX-512 ones.
TEST(BlasKernelsTest, FitTheCpu) {
  const std::string core = select_blas_kernels();
  if (core.empty()) GTEST_SKIP() << "the BLAS is not OpenBLAS";
  std::printf("OpenBLAS core: %s\n", core.c_str());
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) GTEST_SKIP() << "no AVX2";
  for (const char* generic : {"Prescott", "Core2", "Katmai", "Coppermine", "Northwood", "Banias"})
    EXPECT_NE(core, generic);
}

}  // namespace
}  // namespace enclave
