// The compute dtype `--dtype auto` means on this machine: bf16 where the
// hardware computes it natively (CUDA, or a CPU with AVX512_BF16 or AMX-BF16
// instructions), f32 elsewhere, where bf16 would be emulated and slower.
// ENCLAVE_DTYPE sets what a command uses when --dtype is not given (tests
// pin it to f32 so results do not depend on the machine).
// Thread safety: stateless; safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace enclave {

struct DtypeChoice {
  std::string dtype;   // "f32" or "bf16"
  std::string reason;  // "auto: the CPU has AVX512_BF16", "asked for"
};

// "auto" resolved for `device` ("cpu", "cuda", "cuda:1"); "f32" and "bf16"
// as given. Throws Error(kInvalidInput) for another name.
DtypeChoice choose_compute_dtype(std::string_view requested, std::string_view device);

// The CPU feature that makes bf16 native ("AMX-BF16", "AVX512_BF16"), or
// empty, from the flags line of `cpuinfo` (the text of /proc/cpuinfo).
std::string native_bf16_feature(std::string_view cpuinfo);

// --dtype's default: ENCLAVE_DTYPE when set (validated), else "auto".
std::string default_compute_dtype();

}  // namespace enclave
