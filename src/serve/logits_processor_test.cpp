#include "serve/logits_processor.h"

#include <gtest/gtest.h>

#include <vector>

namespace enclave::serve {
namespace {

TEST(Penalties, FollowOpenAisFormula) {
  std::vector<float> logits = {1.0f, 2.0f, 3.0f, 4.0f};
  // Token 1 generated 3 times, token 2 once, token 3 never.
  const TokenCounts counts = {{1, 3}, {2, 1}};
  PenaltyParams p;
  p.frequency = 0.5;
  p.presence = 0.25;
  apply_penalties(logits, counts, p);
  EXPECT_FLOAT_EQ(logits[0], 1.0f);
  EXPECT_FLOAT_EQ(logits[1], 2.0f - (3 * 0.5f + 0.25f));
  EXPECT_FLOAT_EQ(logits[2], 3.0f - (1 * 0.5f + 0.25f));
  EXPECT_FLOAT_EQ(logits[3], 4.0f);
}

TEST(Penalties, NegativePenaltiesEncourageRepetition) {
  std::vector<float> logits = {0.0f, 0.0f};
  PenaltyParams p;
  p.frequency = -2;
  p.presence = -1;
  apply_penalties(logits, {{0, 2}}, p);
  EXPECT_FLOAT_EQ(logits[0], 5.0f);
  EXPECT_FLOAT_EQ(logits[1], 0.0f);
}

TEST(Penalties, LogitBiasIsAddedAndOutOfRangeIdsAreSkipped) {
  std::vector<float> logits = {0.5f, 0.5f, 0.5f};
  PenaltyParams p;
  p.logit_bias = {{0, -100.0f}, {2, 7.5f}, {9, 100.0f}};
  EXPECT_TRUE(p.active());
  apply_penalties(logits, {}, p);
  EXPECT_FLOAT_EQ(logits[0], -99.5f);
  EXPECT_FLOAT_EQ(logits[1], 0.5f);
  EXPECT_FLOAT_EQ(logits[2], 8.0f);
}

TEST(Penalties, DefaultsChangeNothing) {
  std::vector<float> logits = {0.5f, -1.0f};
  const PenaltyParams p;
  EXPECT_FALSE(p.active());
  apply_penalties(logits, {{0, 4}, {1, 1}}, p);
  EXPECT_EQ(logits, (std::vector<float>{0.5f, -1.0f}));
}

}  // namespace
}  // namespace enclave::serve
