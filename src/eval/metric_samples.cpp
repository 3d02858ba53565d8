#include "eval/metric_samples.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "eval/rng.h"

namespace enclave::eval {
namespace {

double finish(Aggregation aggregation, double sum_value, double sum_weight) {
  if (sum_weight <= 0) return std::numeric_limits<double>::quiet_NaN();
  switch (aggregation) {
    case Aggregation::kMean:
      return sum_value / sum_weight;
    case Aggregation::kPerplexity:
      return std::exp(-sum_value / sum_weight);
    case Aggregation::kBitsPerByte:
      return -sum_value / (std::numbers::ln2 * sum_weight);
  }
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

std::string_view to_string(Aggregation aggregation) {
  switch (aggregation) {
    case Aggregation::kMean:
      return "mean";
    case Aggregation::kPerplexity:
      return "perplexity";
    case Aggregation::kBitsPerByte:
      return "bits_per_byte";
  }
  return "?";
}

double aggregate(const MetricSamples& m) {
  double sum_value = 0;
  double sum_weight = 0;
  for (std::size_t i = 0; i < m.values.size(); ++i) {
    sum_value += m.values[i];
    sum_weight += m.weights[i];
  }
  return finish(m.aggregation, sum_value, sum_weight);
}

double aggregate(const MetricSamples& m, std::span<const std::size_t> indices) {
  double sum_value = 0;
  double sum_weight = 0;
  for (std::size_t i : indices) {
    sum_value += m.values[i];
    sum_weight += m.weights[i];
  }
  return finish(m.aggregation, sum_value, sum_weight);
}

double standard_error(const MetricSamples& m, std::uint64_t seed, int n_resamples) {
  const std::size_t n = m.size();
  if (n < 2) return 0.0;
  const bool unit_weights =
      std::all_of(m.weights.begin(), m.weights.end(), [](double w) { return w == 1.0; });
  if (m.aggregation == Aggregation::kMean && unit_weights) {
    const double mean = aggregate(m);
    double ss = 0;
    for (double v : m.values) ss += (v - mean) * (v - mean);
    return std::sqrt(ss / static_cast<double>(n - 1)) / std::sqrt(static_cast<double>(n));
  }
  Rng rng(seed);
  std::vector<std::size_t> indices(n);
  double sum = 0;
  double sum_sq = 0;
  int used = 0;
  for (int r = 0; r < n_resamples; ++r) {
    for (std::size_t& i : indices) i = static_cast<std::size_t>(rng.below(n));
    const double v = aggregate(m, indices);
    if (!std::isfinite(v)) continue;
    sum += v;
    sum_sq += v * v;
    ++used;
  }
  if (used < 2) return 0.0;
  const double mean = sum / used;
  return std::sqrt(std::max(0.0, (sum_sq - used * mean * mean) / (used - 1)));
}

}  // namespace enclave::eval
