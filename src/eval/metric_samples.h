// The numbers a task reports, kept per document so that standard errors,
// comparisons and bootstrap intervals can be computed from them:
//   kMean         sum(value) / sum(weight): accuracy, exact match, F1 (weight
//                 1 each); instruction-level accuracy (passed / instructions)
//   kPerplexity   exp(-sum(value) / sum(weight)): value is a document's summed
//                 log-likelihood (nats), weight its token count
//   kBitsPerByte  -sum(value) / (ln 2 * sum(weight)): weight is the byte count
// Each document keeps its value and weight, so any resample of documents
// aggregates the same way as the whole set.
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace enclave::eval {

enum class Aggregation { kMean, kPerplexity, kBitsPerByte };
std::string_view to_string(Aggregation aggregation);

struct MetricSamples {
  std::string name;  // "acc", "exact_match", "perplexity"
  Aggregation aggregation = Aggregation::kMean;
  bool higher_is_better = true;
  std::vector<double> values;   // one per document
  std::vector<double> weights;  // one per document

  void add(double value, double weight = 1.0) {
    values.push_back(value);
    weights.push_back(weight);
  }
  std::size_t size() const { return values.size(); }
};

// The metric over all documents; NaN when there are none.
double aggregate(const MetricSamples& m);
// The metric over the documents at `indices` (repeats allowed).
double aggregate(const MetricSamples& m, std::span<const std::size_t> indices);

// Standard error of aggregate(m): the sample standard deviation over sqrt(n)
// for means of unit-weight values (as lm-evaluation-harness reports it), a
// seeded bootstrap for ratio metrics and weighted means (instruction-level
// accuracy). 0 for fewer than two documents.
double standard_error(const MetricSamples& m, std::uint64_t seed = 1234, int n_resamples = 1000);

}  // namespace enclave::eval
