// What every fuzz target shares: the libFuzzer entry point's signature, the
// rule that tells a parser's clean refusal from a bug, and a scratch file
// for parsers that only take a path.
//
// A target calls a parser on the input bytes. Error of kind kInvalidInput,
// kUnsupported, kNotFound or kIo is the parser refusing bad input with a
// message: expected. kInternal means input reached an ENCLAVE_CHECK (a
// programmer-error assertion), and any other exception escaping is a parser
// that failed to say what was wrong; both abort, so libFuzzer (or the
// replay driver) reports them as crashes.
// Thread safety: none; libFuzzer calls a target from one thread.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace enclave::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs fn, letting through only Error of an expected kind. With
// ENCLAVE_FUZZ_VERBOSE set, prints each refusal (to check what a seed
// reaches: `ENCLAVE_FUZZ_VERBOSE=1 fuzz_replay_gguf fuzz/corpus/gguf`).
template <typename Fn>
void expect_clean(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kInternal) {
      std::fprintf(stderr, "fuzz: input reached an internal check: %s\n", e.what());
      std::abort();
    }
    static const bool verbose = std::getenv("ENCLAVE_FUZZ_VERBOSE") != nullptr;
    if (verbose) std::fprintf(stderr, "  refused: %s\n", e.what());
  }
}

// A file under $TMPDIR (or /tmp) that holds the current input, removed when
// the process ends. Name it with the extension the parser expects.
class ScratchFile {
 public:
  explicit ScratchFile(std::string_view name) {
    const char* tmp = std::getenv("TMPDIR");
    path_ = std::filesystem::path(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") /
            ("enclave-fuzz-" + std::to_string(::getpid()) + "-" + std::string(name));
  }
  ~ScratchFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  const std::filesystem::path& write(const std::uint8_t* data, std::size_t size) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out.flush()) {
      std::fprintf(stderr, "fuzz: cannot write %s\n", path_.c_str());
      std::abort();
    }
    return path_;
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace enclave::fuzz
