// Who and where a process is: host name, boot id, pid and the pid's start
// time, and the OS user. Runs record these so that a run whose process died
// (SIGKILL, OOM, power loss) can be told apart from one still working: on the
// same host and boot, a pid that is gone or was reused by another process is
// dead; elsewhere only a stale heartbeat can tell.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <cstdint>
#include <string>

namespace enclave::store {

struct ProcessIdentity {
  std::string host;
  std::string boot_id;  // /proc/sys/kernel/random/boot_id; empty if unknown
  std::int64_t pid = 0;
  std::int64_t start_ticks = 0;  // field 22 of /proc/<pid>/stat; 0 if unknown
};

ProcessIdentity current_process();

enum class Liveness {
  kAlive,
  kDead,
  kUnknown,  // another host (or no /proc): only the heartbeat can decide
};

Liveness process_liveness(const ProcessIdentity& process);

// The OS user name (getpwuid, then $USER, then the numeric uid).
std::string os_user();

}  // namespace enclave::store
