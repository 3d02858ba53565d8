// Fuzz target: GGUF files (model/gguf_reader.h), read from a file as
// `--model FILE.gguf` reads them, then what a loader does next: the typed
// metadata getters on the keys every import reads, and each tensor's data
// dequantised (tensors up to 64K elements, to keep runs fast), and a file
// that reads cleanly imported as `enclave model import` does
// (model/gguf_import.h: config, tokenizer and weights from the metadata).
#include <filesystem>
#include <vector>

#include "fuzz_target.h"
#include "model/gguf_import.h"
#include "model/gguf_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static enclave::fuzz::ScratchFile file("fuzz.gguf");
  file.write(data, size);
  enclave::fuzz::expect_clean([&] {
    const enclave::GgufFile gguf(file.path());
    enclave::fuzz::expect_clean([&] { gguf.get_string("general.architecture"); });
    enclave::fuzz::expect_clean([&] { gguf.get_uint("llama.block_count", 0); });
    enclave::fuzz::expect_clean([&] { gguf.get_float("llama.rope.freq_base", 10000.0); });
    enclave::fuzz::expect_clean([&] { gguf.get_strings("tokenizer.ggml.tokens"); });
    std::vector<float> out;
    for (const enclave::GgufTensor& t : gguf.tensors()) {
      if (gguf.tensor(t.name) == nullptr) std::abort();
      if (t.n_elements > (1u << 16)) continue;
      if (t.data.size() != enclave::ggml_nbytes(t.type, t.n_elements)) std::abort();
      out.assign(t.n_elements, 0.0f);
      enclave::ggml_decode(t.type, t.data, out);
    }
  });
  static const std::filesystem::path import_dir = file.path().string() + "-import";
  std::filesystem::remove_all(import_dir);
  enclave::fuzz::expect_clean([&] { enclave::import_gguf(file.path(), import_dir); });
  std::filesystem::remove_all(import_dir);
  return 0;
}
