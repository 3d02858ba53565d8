// Reading times people type: ISO 8601 dates and date-times, for flags such
// as `enclave monitor purge --before DATE`. (Writing them: clock.h.)
// Thread safety: stateless; safe from any thread.
#pragma once

#include <string_view>

namespace enclave::store {

// An ISO 8601 date ("2024-06-01", midnight UTC) or date-time
// ("2024-06-01T12:00", "2024-06-01T12:00:00.5Z", "2024-06-01 12:00:00+02:00";
// without an offset the time is UTC) in seconds since the epoch. Throws
// Error(kInvalidInput) naming `what`, the text and what is wrong.
double parse_time(std::string_view text, std::string_view what);

}  // namespace enclave::store
