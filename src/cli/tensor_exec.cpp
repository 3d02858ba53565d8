#include "cli/tensor_exec.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "core/error.h"

namespace enclave::cli {

std::filesystem::path tensor_executable_path() {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) fail(ErrorKind::kIo, "/proc/self/exe: cannot read this program's path: {}", ec.message());
  return self.parent_path() / kTensorExecutable;
}

void exec_tensor_executable(std::string_view command, char** argv) {
  const std::filesystem::path path = tensor_executable_path();
  ::execv(path.c_str(), argv);
  const int error = errno;  // execv returns only on failure
  if (error == ENOENT) {
    fail(ErrorKind::kNotFound,
         "'{}' needs {} (the commands that use tensors), which is missing: {} does not exist; "
         "build it (cmake --build BUILD --target enclave) or install it beside enclave",
         command, kTensorExecutable, path.string());
  }
  fail(ErrorKind::kIo, "{}: cannot run it for '{}': {}", path.string(), command,
       std::strerror(error));
}

}  // namespace enclave::cli
