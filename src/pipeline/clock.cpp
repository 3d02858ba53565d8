#include "pipeline/clock.h"

#include <cstdlib>
#include <ctime>
#include <mutex>
#include <optional>
#include <string>

#include "core/error.h"
#include "store/clock.h"

namespace enclave::pipeline {
namespace {

std::optional<double> parse_start(const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() && *end == '\0') return v;
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M", &tm);
  if (rest == nullptr) return std::nullopt;
  if (*rest == ':') rest = strptime(rest, ":%S", &tm);
  if (rest == nullptr || *rest != '\0') return std::nullopt;
  tm.tm_isdst = -1;
  return static_cast<double>(std::mktime(&tm));
}

}  // namespace

double pipeline_now() {
  static std::once_flag once;
  static std::optional<double> offset;
  static std::string error;
  std::call_once(once, [] {
    const char* env = std::getenv("ENCLAVE_PIPELINE_NOW");
    if (env == nullptr || *env == '\0') return;
    std::optional<double> start = parse_start(env);
    if (!start) {
      error = env;
      return;
    }
    offset = *start - store::now_unix();
  });
  if (!error.empty()) {
    fail_input(
        "$ENCLAVE_PIPELINE_NOW: '{}' is neither seconds since the epoch nor "
        "YYYY-MM-DDTHH:MM[:SS] local time",
        error);
  }
  return store::now_unix() + offset.value_or(0.0);
}

}  // namespace enclave::pipeline
