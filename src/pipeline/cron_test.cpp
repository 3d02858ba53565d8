#include "pipeline/cron.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "core/error.h"

namespace enclave::pipeline {
namespace {

// Local time of a UTC-free broken-down date, in the zone the test set.
double local(int y, int mo, int d, int h, int mi) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_isdst = -1;
  return static_cast<double>(std::mktime(&tm));
}

class CronTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tz = std::getenv("TZ");
    old_ = tz != nullptr ? tz : "";
    had_ = tz != nullptr;
    setenv("TZ", "Asia/Seoul", 1);
    tzset();
  }
  void TearDown() override {
    if (had_)
      setenv("TZ", old_.c_str(), 1);
    else
      unsetenv("TZ");
    tzset();
  }
  std::string old_;
  bool had_ = false;
};

TEST_F(CronTest, DailyAtThreeLocal) {
  Cron c = parse_cron("0 3 * * *", "cron");
  auto next = cron_next(c, local(2026, 3, 1, 2, 59), local(2026, 3, 1, 3, 30));
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, local(2026, 3, 1, 3, 0));
  // Seoul is UTC+9: 03:00 there is 18:00 UTC the day before.
  std::time_t t = static_cast<std::time_t>(*next);
  std::tm utc{};
  gmtime_r(&t, &utc);
  EXPECT_EQ(utc.tm_hour, 18);
  EXPECT_FALSE(cron_next(c, local(2026, 3, 1, 3, 0), local(2026, 3, 2, 2, 59)));
}

TEST_F(CronTest, StepsRangesListsAndNames) {
  Cron c = parse_cron("*/15 9-17 * * mon-fri", "cron");
  // 2026-03-07 is a Saturday.
  EXPECT_FALSE(cron_next(c, local(2026, 3, 7, 0, 0), local(2026, 3, 8, 23, 59)));
  auto next = cron_next(c, local(2026, 3, 9, 9, 1), local(2026, 3, 9, 10, 0));
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, local(2026, 3, 9, 9, 15));
  Cron sunday = parse_cron("0 0 * * 7", "cron");
  EXPECT_TRUE(cron_next(sunday, local(2026, 3, 7, 23, 0), local(2026, 3, 8, 0, 0)));
}

TEST_F(CronTest, EitherDayFieldMatchesWhenBothAreRestricted) {
  Cron c = parse_cron("0 0 13 * fri", "cron");
  // 2026-03-06 is a Friday (not the 13th); 2026-03-13 is a Friday too.
  EXPECT_TRUE(cron_next(c, local(2026, 3, 5, 23, 0), local(2026, 3, 6, 0, 0)));
  EXPECT_TRUE(cron_next(c, local(2026, 4, 12, 23, 0), local(2026, 4, 13, 0, 0)));  // a Monday
}

TEST_F(CronTest, Macros) {
  EXPECT_EQ(parse_cron("@daily", "c").hour.count(), 1u);
  EXPECT_EQ(parse_cron("@hourly", "c").hour.count(), 24u);
}

TEST_F(CronTest, BadExpressionsNameTheField) {
  auto message = [](const std::string& text) {
    try {
      parse_cron(text, "on.schedule");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("0 3 * *").find("has 4 fields"), std::string::npos);
  EXPECT_NE(message("61 3 * * *").find("minute field: 61 is outside 0-59"), std::string::npos);
  EXPECT_NE(message("0 25 * * *").find("hour field"), std::string::npos);
  EXPECT_NE(message("0 3 * * funday").find("weekday field"), std::string::npos);
  EXPECT_NE(message("*/0 3 * * *").find("bad step"), std::string::npos);
  EXPECT_NE(message("0 5-3 * * *").find("ends before it starts"), std::string::npos);
  EXPECT_NE(message("@sometimes").find("unknown schedule"), std::string::npos);
}

}  // namespace
}  // namespace enclave::pipeline
