#include "eval/bootstrap.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "eval/rng.h"

namespace enclave::eval {
namespace {

MetricSamples mean_samples(const std::vector<double>& values) {
  MetricSamples m;
  m.name = "acc";
  for (double v : values) m.add(v);
  return m;
}

TEST(MetricSamplesTest, AggregatesByHand) {
  MetricSamples acc = mean_samples({1, 0, 1, 1});
  EXPECT_DOUBLE_EQ(aggregate(acc), 0.75);
  // sample sd = sqrt(((0.25^2)*3 + 0.75^2) / 3) = sqrt(0.25) = 0.5; / sqrt(4) = 0.25.
  EXPECT_DOUBLE_EQ(standard_error(acc), 0.25);
  std::vector<std::size_t> idx = {1, 1, 2};
  EXPECT_DOUBLE_EQ(aggregate(acc, idx), 1.0 / 3.0);

  MetricSamples ppl{
      .name = "perplexity", .aggregation = Aggregation::kPerplexity, .higher_is_better = false};
  ppl.add(-2.0, 2);  // document 1: 2 tokens, log-likelihood -2
  ppl.add(-4.0, 2);
  EXPECT_DOUBLE_EQ(aggregate(ppl), std::exp(6.0 / 4.0));
  MetricSamples bpb{
      .name = "bits_per_byte", .aggregation = Aggregation::kBitsPerByte, .higher_is_better = false};
  bpb.add(-std::log(2.0) * 8, 4);  // 8 bits over 4 bytes
  EXPECT_DOUBLE_EQ(aggregate(bpb), 2.0);
  EXPECT_TRUE(std::isnan(aggregate(MetricSamples{})));
  EXPECT_EQ(standard_error(mean_samples({1})), 0.0);
  EXPECT_GT(standard_error(ppl), 0.0);  // bootstrap
}

TEST(MetricSamplesTest, WeightedMeanIsInstructionLevelAccuracy) {
  MetricSamples inst{.name = "inst_level_strict_acc"};
  inst.add(2, 3);  // 2 of 3 instructions followed
  inst.add(1, 1);
  EXPECT_DOUBLE_EQ(aggregate(inst), 3.0 / 4.0);
}

// Per-document scores of two models where B is better by `shift` on average.
void make_pair(std::uint64_t seed, std::size_t n, double shift, MetricSamples& a,
               MetricSamples& b) {
  Rng rng(seed);
  a = MetricSamples{.name = "score"};
  b = MetricSamples{.name = "score"};
  for (std::size_t i = 0; i < n; ++i) {
    const double difficulty =
        static_cast<double>(rng.below(1000)) / 1000.0;  // shared by both models
    const double noise_a = (static_cast<double>(rng.below(1000)) / 1000.0 - 0.5) * 0.2;
    const double noise_b = (static_cast<double>(rng.below(1000)) / 1000.0 - 0.5) * 0.2;
    a.add(difficulty + noise_a);
    b.add(difficulty + shift + noise_b);
  }
}

TEST(BootstrapTest, IntervalCoversAKnownDifference) {
  MetricSamples a;
  MetricSamples b;
  make_pair(7, 400, 0.05, a, b);
  PairedInterval ci = paired_bootstrap(a, b, {.n_resamples = 2000, .confidence = 0.95, .seed = 3});
  std::printf("known difference 0.05: delta %.4f, 95%% interval [%.4f, %.4f]\n", ci.delta, ci.low,
              ci.high);
  EXPECT_LT(ci.low, 0.05);
  EXPECT_GT(ci.high, 0.05);
  EXPECT_GT(ci.low, 0.0);  // pairing removes the shared difficulty: the shift is significant
  EXPECT_EQ(verdict_of(ci, /*higher_is_better=*/true), Verdict::kBetter);
  EXPECT_EQ(verdict_of(ci, /*higher_is_better=*/false), Verdict::kWorse);
  // Same seed, same interval.
  PairedInterval again =
      paired_bootstrap(a, b, {.n_resamples = 2000, .confidence = 0.95, .seed = 3});
  EXPECT_EQ(ci.low, again.low);
  EXPECT_EQ(ci.high, again.high);
}

TEST(BootstrapTest, CoverageIsNearTheConfidenceLevel) {
  int covered = 0;
  const int trials = 100;
  for (int t = 0; t < trials; ++t) {
    MetricSamples a;
    MetricSamples b;
    make_pair(100 + t, 200, 0.02, a, b);
    PairedInterval ci =
        paired_bootstrap(a, b, {.n_resamples = 500, .confidence = 0.9, .seed = 1000u + t});
    if (ci.low <= 0.02 && 0.02 <= ci.high) ++covered;
  }
  std::printf("90%% intervals covering the true difference: %d of %d\n", covered, trials);
  EXPECT_GE(covered, 80);
  EXPECT_LE(covered, 98);
}

TEST(BootstrapTest, NoDifferenceIsNotSignificant) {
  MetricSamples a;
  MetricSamples b;
  make_pair(11, 300, 0.0, a, b);
  PairedInterval ci = paired_bootstrap(a, b, {});
  EXPECT_LE(ci.low, 0.0);
  EXPECT_GE(ci.high, 0.0);
  EXPECT_EQ(verdict_of(ci, true), Verdict::kNoSignificantDifference);
  EXPECT_EQ(to_string(Verdict::kNoSignificantDifference), "no significant difference");
}

TEST(BootstrapTest, RejectsBadInput) {
  MetricSamples a = mean_samples({1, 0});
  MetricSamples b = mean_samples({1});
  EXPECT_THROW(paired_bootstrap(a, b, {}), Error);
  EXPECT_THROW(paired_bootstrap(MetricSamples{}, MetricSamples{}, {}), Error);
  EXPECT_THROW(paired_bootstrap(a, a, {.n_resamples = 1}), Error);
  EXPECT_THROW(paired_bootstrap(a, a, {.confidence = 1.0}), Error);
  MetricSamples ppl = a;
  ppl.aggregation = Aggregation::kPerplexity;
  EXPECT_THROW(paired_bootstrap(a, ppl, {}), Error);
}

}  // namespace
}  // namespace enclave::eval
