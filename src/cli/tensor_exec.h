// Hands a tensor command from `enclave` to `enclave-torch` (see
// command_table.h): the same argv and environment, in the same process (execv),
// so exit status, signals and the terminal behave as if `enclave` ran it.
// Thread safety: call from the main thread only, before other threads start.
#pragma once

#include <filesystem>
#include <string_view>

namespace enclave::cli {

// The file name of the executable that runs the tensor commands.
inline constexpr std::string_view kTensorExecutable = "enclave-torch";

// enclave-torch beside this process's own executable (/proc/self/exe).
std::filesystem::path tensor_executable_path();

// Replaces this process with enclave-torch running argv (argv[0] kept, so
// runs record the command as the user typed it). Returns only by throwing:
// Error(kNotFound) naming the missing path and the command that needs it,
// Error(kIo) if exec fails for another reason.
[[noreturn]] void exec_tensor_executable(std::string_view command, char** argv);

}  // namespace enclave::cli
