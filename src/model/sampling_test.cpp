#include "model/sampling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "core/error.h"

namespace enclave {
namespace {

std::vector<float> random_logits(std::uint64_t seed, std::size_t n = 200) {
  std::mt19937_64 rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(static_cast<double>(rng() % 10000) / 1000.0 - 5.0);
  return v;
}

TokenId argmax(const std::vector<float>& v) {
  return static_cast<TokenId>(std::max_element(v.begin(), v.end()) - v.begin());
}

TEST(SamplingTest, GreedyIsArgmax) {
  Sampler s({.temperature = 0.0});
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    auto logits = random_logits(seed);
    EXPECT_EQ(s.sample(logits, {}), argmax(logits));
  }
}

TEST(SamplingTest, TopK1AndTinyTopPAreGreedy) {
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    auto logits = random_logits(seed);
    Sampler k1({.temperature = 1.5, .top_k = 1, .seed = seed});
    Sampler p0({.temperature = 1.5, .top_p = 1e-9, .seed = seed});
    EXPECT_EQ(k1.sample(logits, {}), argmax(logits));
    EXPECT_EQ(p0.sample(logits, {}), argmax(logits));
  }
}

TEST(SamplingTest, TopKKeepsKBestRenormalised) {
  std::vector<float> logits = {1.0f, 3.0f, 2.0f, 0.0f};
  Sampler s({.temperature = 1.0, .top_k = 2});
  auto p = s.distribution(logits, {});
  const double z = std::exp(3.0) + std::exp(2.0);
  EXPECT_NEAR(p[1], std::exp(3.0) / z, 1e-12);
  EXPECT_NEAR(p[2], std::exp(2.0) / z, 1e-12);
  EXPECT_EQ(p[0], 0.0);
  EXPECT_EQ(p[3], 0.0);
}

TEST(SamplingTest, TopPKeepsSmallestSetReachingP) {
  // probabilities 0.5, 0.3, 0.2 (as logs)
  std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  auto p = Sampler({.temperature = 1.0, .top_p = 0.75}).distribution(logits, {});
  EXPECT_NEAR(p[0], 0.5 / 0.8, 1e-6);
  EXPECT_NEAR(p[1], 0.3 / 0.8, 1e-6);
  EXPECT_EQ(p[2], 0.0);
  p = Sampler({.temperature = 1.0, .top_p = 0.5}).distribution(logits, {});
  EXPECT_NEAR(p[0], 1.0, 1e-9);
}

TEST(SamplingTest, MinPDropsTokensBelowFractionOfTop) {
  std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  auto p =
      Sampler({.temperature = 1.0, .min_p = 0.25}).distribution(logits, {});  // threshold 0.125
  EXPECT_GT(p[2], 0.0);
  EXPECT_EQ(p[3], 0.0);
  EXPECT_NEAR(p[0], 0.5 / 0.95, 1e-6);
}

TEST(SamplingTest, TemperatureSharpens) {
  std::vector<float> logits = {1.0f, 2.0f};
  auto p = Sampler({.temperature = 0.5}).distribution(logits, {});
  EXPECT_NEAR(p[1], std::exp(4.0) / (std::exp(2.0) + std::exp(4.0)), 1e-12);
}

TEST(SamplingTest, RepetitionPenaltyFollowsHf) {
  std::vector<float> logits = {2.0f, -1.0f, 0.5f};
  // Token 0 (positive) is divided, token 1 (negative) multiplied, token 2 untouched;
  // a repeated id is penalised once.
  auto p = Sampler({.temperature = 1.0, .repetition_penalty = 2.0})
               .distribution(logits, std::vector<TokenId>{0, 1, 0});
  const double e0 = std::exp(1.0), e1 = std::exp(-2.0), e2 = std::exp(0.5);
  const double z = e0 + e1 + e2;
  EXPECT_NEAR(p[0], e0 / z, 1e-12);
  EXPECT_NEAR(p[1], e1 / z, 1e-12);
  EXPECT_NEAR(p[2], e2 / z, 1e-12);
  // Greedy also sees the penalty (HF applies processors before argmax).
  std::vector<float> close = {1.0f, 0.9f};
  EXPECT_EQ(Sampler({.temperature = 0.0, .repetition_penalty = 1.5})
                .sample(close, std::vector<TokenId>{0}),
            1);
}

TEST(SamplingTest, SeededDrawsAreReproducibleAndFollowTheDistribution) {
  std::vector<float> logits = {0.0f, std::log(3.0f)};  // p = 0.25, 0.75
  Sampler a({.seed = 42}), b({.seed = 42}), c({.seed = 43});
  std::vector<TokenId> sa, sb, sc;
  int ones = 0;
  for (int i = 0; i < 4000; ++i) {
    sa.push_back(a.sample(logits, {}));
    sb.push_back(b.sample(logits, {}));
    sc.push_back(c.sample(logits, {}));
    ones += sa.back();
  }
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sc);
  EXPECT_NEAR(ones / 4000.0, 0.75, 0.03);
}

TEST(SamplingTest, BadParamsRejected) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<SamplingParams> bad = {{.temperature = -0.1},
                                     {.temperature = nan},
                                     {.temperature = inf},
                                     {.top_k = -1},
                                     {.top_p = 0.0},
                                     {.top_p = 1.5},
                                     {.top_p = nan},
                                     {.min_p = -0.1},
                                     {.min_p = 1.1},
                                     {.repetition_penalty = 0.0},
                                     {.repetition_penalty = -1.0},
                                     {.repetition_penalty = nan}};
  for (const SamplingParams& p : bad) {
    try {
      validate_sampling(p);
      ADD_FAILURE() << "accepted temperature " << p.temperature << " top_p " << p.top_p;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
      EXPECT_NE(std::string(e.what()).find("sampling:"), std::string::npos);
    }
  }
  EXPECT_THROW(Sampler({.top_p = 0.0}), Error);
}

}  // namespace
}  // namespace enclave
