#include "core/process_memory.h"

#include <cstdlib>
#include <fstream>
#include <string>

namespace enclave {

std::int64_t proc_status_kb(std::string_view field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with(field) && line.size() > field.size() && line[field.size()] == ':')
      return std::strtoll(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return 0;
}

void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

}  // namespace enclave
