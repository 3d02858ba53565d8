#include "eval/bootstrap.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "eval/rng.h"

namespace enclave::eval {
namespace {

// Linear interpolation between order statistics (numpy's default).
double quantile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace

PairedInterval paired_bootstrap(const MetricSamples& a, const MetricSamples& b,
                                const BootstrapOptions& options) {
  if (a.size() != b.size()) {
    fail_input(
        "bootstrap: metric '{}' has {} documents for A and {} for B; both models must see the same "
        "documents",
        a.name, a.size(), b.size());
  }
  if (a.size() == 0) fail_input("bootstrap: metric '{}' has no documents", a.name);
  if (a.aggregation != b.aggregation)
    fail_input("bootstrap: metric '{}' aggregates differently for A and B", a.name);
  if (options.n_resamples < 10)
    fail_input("bootstrap: n_resamples must be >= 10, got {}", options.n_resamples);
  if (!(options.confidence > 0 && options.confidence < 1)) {
    fail_input("bootstrap: confidence must be in (0, 1), got {}", options.confidence);
  }
  PairedInterval out;
  out.a = aggregate(a);
  out.b = aggregate(b);
  out.delta = out.b - out.a;

  const std::size_t n = a.size();
  Rng rng(options.seed);
  std::vector<std::size_t> indices(n);
  std::vector<double> deltas;
  deltas.reserve(static_cast<std::size_t>(options.n_resamples));
  for (int r = 0; r < options.n_resamples; ++r) {
    for (std::size_t& i : indices) i = static_cast<std::size_t>(rng.below(n));
    const double d = aggregate(b, indices) - aggregate(a, indices);
    if (std::isfinite(d)) deltas.push_back(d);
  }
  if (deltas.empty()) {
    out.low = out.high = out.delta;
    return out;
  }
  std::sort(deltas.begin(), deltas.end());
  const double tail = (1 - options.confidence) / 2;
  out.low = quantile(deltas, tail);
  out.high = quantile(deltas, 1 - tail);
  return out;
}

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::kBetter:
      return "better";
    case Verdict::kWorse:
      return "worse";
    case Verdict::kNoSignificantDifference:
      return "no significant difference";
  }
  return "?";
}

Verdict verdict_of(const PairedInterval& interval, bool higher_is_better) {
  const bool above = interval.low > 0;
  const bool below = interval.high < 0;
  if (!above && !below) return Verdict::kNoSignificantDifference;
  return above == higher_is_better ? Verdict::kBetter : Verdict::kWorse;
}

}  // namespace enclave::eval
