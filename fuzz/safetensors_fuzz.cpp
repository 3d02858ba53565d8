// Fuzz target: a safetensors file's header (model/safetensors.h), parsed
// from the whole file's bytes as SafetensorsFile does after mapping it.
#include "fuzz_target.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  enclave::fuzz::expect_clean([&] {
    const enclave::SafetensorsHeader header =
        enclave::parse_safetensors({data, size}, "fuzz.safetensors");
    // What a loader does next: each tensor's bytes, which must lie in the file.
    for (const enclave::TensorInfo& t : header.tensors) {
      if (header.data_start + t.offset_end > size || t.offset_begin > t.offset_end) std::abort();
      if (t.n_bytes() != t.n_elements() * enclave::dtype_size(t.dtype)) std::abort();
    }
  });
  return 0;
}
