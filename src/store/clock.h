// Times as the store records them: seconds since the Unix epoch (REAL in
// SQLite, so durations are plain subtraction) and their ISO 8601 UTC text for
// people and JSON ("2024-06-01T12:00:00.123Z").
// Thread safety: stateless; safe from any thread.
#pragma once

#include <string>

namespace enclave::store {

// Wall-clock time now, in seconds since the epoch (sub-millisecond precision).
double now_unix();

// "2024-06-01T12:00:00.123Z"; the empty string for a negative or NaN time.
std::string format_time(double unix_seconds);

// "0", "90s", "15m", "6h", "7d", "2w" in seconds. Throws Error(kInvalidInput)
// naming field.
double parse_duration(const std::string& text, const std::string& field);

// "850ms", "42s", "3m05s", "1h02m".
std::string format_elapsed(double seconds);

}  // namespace enclave::store
