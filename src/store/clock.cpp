#include "store/clock.h"

#include <fmt/format.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <ctime>

#include "core/error.h"
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

double parse_duration(const std::string& text, const std::string& field) {
  if (text == "0") return 0;
  std::size_t n = 0;
  while (n < text.size() && std::isdigit(static_cast<unsigned char>(text[n]))) ++n;
  if (n == 0 || n + 1 != text.size() || n > 9) {
    fail_input("{}: '{}' is not a duration (a number and one of s, m, h, d, w: 90s, 6h, 7d)", field,
               text);
  }
  double v = std::stod(text.substr(0, n));
  switch (text.back()) {
    case 's':
      return v;
    case 'm':
      return v * 60;
    case 'h':
      return v * 3600;
    case 'd':
      return v * 86400;
    case 'w':
      return v * 7 * 86400;
    default:
      break;
  }
  fail_input("{}: '{}': unknown unit '{}' (s, m, h, d or w)", field, text, text.back());
}

}  // namespace enclave::store
