#include "store/process_info.h"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>

namespace enclave::store {
namespace {

std::string read_first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Start time of pid in clock ticks after boot, or 0 if it has no /proc entry.
std::int64_t pid_start_ticks(std::int64_t pid) {
  std::string stat = read_first_line(("/proc/" + std::to_string(pid) + "/stat").c_str());
  // The command name (field 2) is in parentheses and may itself hold spaces
  // or ')', so count fields from the last ')'.
  std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 1));
  std::string field;
  // Fields 3..22; starttime is the 20th after the command name.
  for (int i = 3; i <= 22; ++i) {
    if (!(rest >> field)) return 0;
  }
  try {
    return std::stoll(field);
  } catch (...) {
    return 0;
  }
}

}  // namespace

ProcessIdentity current_process() {
  ProcessIdentity id;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) id.host = host;
  id.boot_id = read_first_line("/proc/sys/kernel/random/boot_id");
  id.pid = ::getpid();
  id.start_ticks = pid_start_ticks(id.pid);
  return id;
}

Liveness process_liveness(const ProcessIdentity& process) {
  static const ProcessIdentity self = current_process();
  if (process.host != self.host || self.boot_id.empty()) return Liveness::kUnknown;
  if (process.boot_id != self.boot_id) return Liveness::kDead;  // the machine rebooted since
  if (process.pid <= 0) return Liveness::kDead;
  if (::kill(static_cast<pid_t>(process.pid), 0) != 0 && errno == ESRCH) return Liveness::kDead;
  std::int64_t start = pid_start_ticks(process.pid);
  if (start == 0)
    return Liveness::kDead;  // gone between kill() and reading /proc, or a zombie reaped
  if (process.start_ticks != 0 && start != process.start_ticks)
    return Liveness::kDead;  // pid reused
  // A zombie (killed, not yet reaped by its parent) is dead for our purpose.
  std::string stat = read_first_line(("/proc/" + std::to_string(process.pid) + "/stat").c_str());
  std::size_t close = stat.rfind(')');
  if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z') {
    return Liveness::kDead;
  }
  return Liveness::kAlive;
}

std::string os_user() {
  struct passwd pw {};
  struct passwd* result = nullptr;
  char buffer[4096];
  if (::getpwuid_r(::geteuid(), &pw, buffer, sizeof buffer, &result) == 0 && result != nullptr &&
      result->pw_name != nullptr) {
    return result->pw_name;
  }
  if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') return user;
  return std::to_string(::geteuid());
}

}  // namespace enclave::store
