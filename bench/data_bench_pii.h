// The PII part of data_bench: recall and precision of text/pii.h on a
// generated Korean corpus whose planted spans are known, per type and at
// two confidence thresholds, and the detector's throughput.
#pragma once

#include <cstddef>
#include <cstdint>

namespace enclave::bench {

// Prints the table; `docs` documents of a few sentences each. show_errors:
// also a few missed and wrongly found spans per type, with context.
void bench_pii(std::size_t docs, std::uint64_t seed, bool show_errors = false);

}  // namespace enclave::bench
