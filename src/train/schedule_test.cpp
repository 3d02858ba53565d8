#include "train/schedule.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace enclave::train {
namespace {

TEST(LrSchedule, WarmsUpLinearlyThenDecaysToTheFloor) {
  LrSchedule cosine(1.0, LrScheduler::kCosine, 4, 14, 0.1);
  EXPECT_DOUBLE_EQ(cosine.lr_at(0), 0.25);
  EXPECT_DOUBLE_EQ(cosine.lr_at(3), 1.0);
  EXPECT_DOUBLE_EQ(cosine.lr_at(4), 1.0);
  EXPECT_NEAR(cosine.lr_at(9), 0.1 + 0.9 * 0.5, 1e-12);  // half way through the decay
  EXPECT_NEAR(cosine.lr_at(14), 0.1, 1e-12);
  EXPECT_NEAR(cosine.lr_at(100), 0.1, 1e-12);

  LrSchedule linear(2.0, LrScheduler::kLinear, 0, 10, 0.0);
  EXPECT_DOUBLE_EQ(linear.lr_at(0), 2.0);
  EXPECT_DOUBLE_EQ(linear.lr_at(5), 1.0);
  EXPECT_DOUBLE_EQ(linear.lr_at(10), 0.0);

  LrSchedule constant(0.5, LrScheduler::kConstant, 2, 10, 0.0);
  EXPECT_DOUBLE_EQ(constant.lr_at(0), 0.25);
  EXPECT_DOUBLE_EQ(constant.lr_at(9), 0.5);
}

TEST(LrSchedule, RejectsBadSettings) {
  EXPECT_THROW(LrSchedule(0.0, LrScheduler::kCosine, 0, 10, 0), Error);
  EXPECT_THROW(LrSchedule(1.0, LrScheduler::kCosine, -1, 10, 0), Error);
  EXPECT_THROW(LrSchedule(1.0, LrScheduler::kCosine, 0, 0, 0), Error);
}

}  // namespace
}  // namespace enclave::train
