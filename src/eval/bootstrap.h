// Paired bootstrap for comparing two models on the same documents (Koehn
// 2004, "Statistical significance tests for machine translation
// evaluation"; Efron and Tibshirani 1993, percentile interval): resample the
// documents with replacement, recompute both models' metric on the same
// resample, and take the percentiles of the difference. Pairing removes the
// variance that comes from which documents happen to be in the set.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "eval/metric_samples.h"

namespace enclave::eval {

struct BootstrapOptions {
  int n_resamples = 1000;
  double confidence = 0.95;
  std::uint64_t seed = 1234;
};

struct PairedInterval {
  double a = 0;      // metric of model A on all documents
  double b = 0;      // metric of model B
  double delta = 0;  // b - a
  double low = 0;    // percentile interval of b - a
  double high = 0;
};

// Throws Error(kInvalidInput) if a and b differ in size or aggregation, are
// empty, or options are out of range (n_resamples < 10, confidence outside
// (0, 1)).
PairedInterval paired_bootstrap(const MetricSamples& a, const MetricSamples& b,
                                const BootstrapOptions& options);

enum class Verdict { kBetter, kWorse, kNoSignificantDifference };
// "better", "worse", "no significant difference".
std::string_view to_string(Verdict verdict);

// B against A: better when the whole interval lies on the good side of zero
// (above for higher_is_better metrics, below otherwise), worse when it lies on
// the bad side, else no significant difference.
Verdict verdict_of(const PairedInterval& interval, bool higher_is_better);

}  // namespace enclave::eval
