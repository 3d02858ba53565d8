#include "core/program.h"

#include <cstdlib>
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

std::mutex exit_paths_mutex;
std::vector<std::filesystem::path>& exit_paths() {
  static auto* paths = new std::vector<std::filesystem::path>();  // outlives static destructors
  return *paths;
}

void remove_exit_paths() {
  std::lock_guard lock(exit_paths_mutex);
  for (const std::filesystem::path& path : exit_paths()) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  exit_paths().clear();
}

}  // namespace

void remove_at_exit(const std::filesystem::path& path) {
  std::lock_guard lock(exit_paths_mutex);
  static const bool registered =
      std::atexit(remove_exit_paths) == 0 && std::at_quick_exit(remove_exit_paths) == 0;
  (void)registered;
  exit_paths().push_back(path);
}

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
