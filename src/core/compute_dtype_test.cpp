#include "core/compute_dtype.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "core/error.h"

namespace enclave {
namespace {

TEST(ComputeDtype, NativeBf16FromCpuFlags) {
  EXPECT_EQ(native_bf16_feature("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 amx_bf16 "
                                "amx_tile\nbugs\t: x\n"),
            "AMX-BF16");
  EXPECT_EQ(native_bf16_feature("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16\n"),
            "AVX512_BF16");
  // AMD without bf16, and names that only contain the flag.
  EXPECT_EQ(native_bf16_feature("processor\t: 0\nflags\t\t: fpu avx2 avx512f\n"), "");
  EXPECT_EQ(native_bf16_feature("flags\t\t: xavx512_bf16 avx512_bf16x\n"), "");
  EXPECT_EQ(native_bf16_feature(""), "");
}

TEST(ComputeDtype, ExplicitAndCudaChoices) {
  EXPECT_EQ(choose_compute_dtype("f32", "cuda").dtype, "f32");
  EXPECT_EQ(choose_compute_dtype("bf16", "cpu").dtype, "bf16");
  EXPECT_EQ(choose_compute_dtype("auto", "cuda:1").dtype, "bf16");
  const DtypeChoice cpu = choose_compute_dtype("auto", "cpu");
  EXPECT_TRUE(cpu.dtype == "f32" || cpu.dtype == "bf16");
  EXPECT_EQ(cpu.reason.rfind("auto: ", 0), 0u);
  EXPECT_THROW(choose_compute_dtype("f16", "cpu"), Error);
}

TEST(ComputeDtype, DefaultFromEnvironment) {
  unsetenv("ENCLAVE_DTYPE");
  EXPECT_EQ(default_compute_dtype(), "auto");
  setenv("ENCLAVE_DTYPE", "f32", 1);
  EXPECT_EQ(default_compute_dtype(), "f32");
  setenv("ENCLAVE_DTYPE", "fp8", 1);
  EXPECT_THROW(default_compute_dtype(), Error);
  unsetenv("ENCLAVE_DTYPE");
}

}  // namespace
}  // namespace enclave
