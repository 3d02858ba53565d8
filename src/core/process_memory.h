// This process's resident memory as Linux reports it in /proc/self/status,
// for figures such as "peak memory while reading the data".
// Thread safety: stateless; the peak is process-wide.
#pragma once

#include <cstdint>
#include <string_view>

namespace enclave {

// A "VmRSS", "VmHWM", ... field of /proc/self/status in KiB; 0 where /proc
// is not there or the field is missing.
std::int64_t proc_status_kb(std::string_view field);

// Starts a new peak: VmHWM becomes VmRSS (clear_refs "5"); no effect where
// the kernel does not allow it.
void reset_peak_rss();

}  // namespace enclave
