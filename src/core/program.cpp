#include "core/program.h"

#include <mutex>
#include <utility>

namespace enclave {
namespace {

std::mutex& identity_mutex() {
  static std::mutex mutex;
  return mutex;
}

ProgramIdentity& identity() {
  static ProgramIdentity value;
  return value;
}

}  // namespace

void set_program_identity(std::vector<std::string> argv, std::string version,
                          std::string build_id) {
  std::lock_guard<std::mutex> lock(identity_mutex());
  identity() = {std::move(argv), std::move(version), std::move(build_id)};
}

ProgramIdentity program_identity() {
  std::lock_guard<std::mutex> lock(identity_mutex());
  return identity();
}

}  // namespace enclave
