#include "store/clock.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <ctime>

#include "core/progress.h"

namespace enclave::store {

double now_unix() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration<double>(now).count();
}

std::string format_time(double unix_seconds) {
  if (!(unix_seconds >= 0)) return "";
  auto whole = static_cast<std::time_t>(std::floor(unix_seconds));
  int ms = static_cast<int>((unix_seconds - static_cast<double>(whole)) * 1000.0);
  if (ms > 999) ms = 999;
  std::tm tm{};
  gmtime_r(&whole, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

std::string format_elapsed(double seconds) {
  if (!(seconds >= 0)) return "";
  if (seconds < 1.0) return fmt::format("{}ms", static_cast<int>(seconds * 1000.0));
  return format_duration(seconds);
}

}  // namespace enclave::store
