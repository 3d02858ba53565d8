// Error: the one error type Enclave throws for expected failures (bad file,
// bad flag, missing model). The message names the file, field and reason;
// the CLI maps it to a one-line message and a non-zero exit code.
// ENCLAVE_CHECK is for programmer errors only, never for user input.
// Thread safety: all functions here are safe to call from any thread.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace enclave {

// What kind of failure, so callers (CLI exit codes, HTTP statuses) can map it
// in one place.
enum class ErrorKind {
  kInvalidInput,  // malformed file or argument
  kNotFound,      // missing file, model, tensor
  kIo,            // read/write failure of the OS
  kUnsupported,   // valid input we do not handle (unknown architecture)
  kInternal,      // broken invariant (ENCLAVE_CHECK)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message)
      : std::runtime_error(std::move(message)), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// Throws Error(kind, formatted message).
template <typename... Args>
[[noreturn]] void fail(ErrorKind kind, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(kind, fmt::format(format, std::forward<Args>(args)...));
}

// Throws Error(kInvalidInput, ...): the most common failure.
template <typename... Args>
[[noreturn]] void fail_input(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(ErrorKind::kInvalidInput, fmt::format(format, std::forward<Args>(args)...));
}

// Exit code for the CLI: 1 for invalid input, 2 not found, 3 io, 4 unsupported, 70 internal.
int exit_code_for(ErrorKind kind);

}  // namespace enclave

#define ENCLAVE_CHECK(cond)                                                                \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      throw ::enclave::Error(                                                              \
          ::enclave::ErrorKind::kInternal,                                                 \
          ::fmt::format("internal check failed: {} at {}:{}", #cond, __FILE__, __LINE__)); \
    }                                                                                      \
  } while (0)
