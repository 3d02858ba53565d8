#include "store/iso_time.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "core/error.h"
#include "store/clock.h"

namespace enclave::store {
namespace {

TEST(ParseTime, DatesAndDateTimesInUtcOrWithAnOffset) {
  EXPECT_EQ(parse_time("2024-06-01", "t"), 1717200000.0);
  EXPECT_EQ(parse_time("2024-06-01T12:00", "t"), 1717243200.0);
  EXPECT_EQ(parse_time("2024-06-01T12:00:30Z", "t"), 1717243230.0);
  EXPECT_EQ(parse_time("2024-06-01 12:00:30", "t"), 1717243230.0);
  EXPECT_DOUBLE_EQ(parse_time("2024-06-01T12:00:30.25Z", "t"), 1717243230.25);
  EXPECT_EQ(parse_time("2024-06-01T14:00:00+02:00", "t"), 1717243200.0);
  EXPECT_EQ(parse_time("2024-06-01T07:30:00-0430", "t"), 1717243200.0);
  EXPECT_EQ(parse_time("2024-02-29", "t"), 1709164800.0);
  EXPECT_EQ(format_time(parse_time("1999-12-31T23:59:59Z", "t")), "1999-12-31T23:59:59.000Z");
}

TEST(ParseTime, EachBadInputIsNamed) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "not a date"},
      {"yesterday", "not a date"},
      {"2024/06/01", "not a date"},
      {"2024-6-1", "not a date"},
      {"2024-13-01", "month out of range"},
      {"2023-02-29", "day out of range"},
      {"2024-04-31", "day out of range"},
      {"2024-06-01X", "expected 'T'"},
      {"2024-06-01T", "expected HH:MM"},
      {"2024-06-01T1200", "expected HH:MM"},
      {"2024-06-01T12:0a", "expected HH:MM"},
      {"2024-06-01T12:00:5", "two digits of seconds"},
      {"2024-06-01T12:00:00.", "digits after the decimal point"},
      {"2024-06-01T24:00", "time out of range"},
      {"2024-06-01T12:60", "time out of range"},
      {"2024-06-01T12:00+2", "bad UTC offset"},
      {"2024-06-01T12:00+25:00", "bad UTC offset"},
      {"2024-06-01T12:00Zjunk", "unexpected text"},
  };
  for (const auto& [text, reason] : cases) {
    try {
      parse_time(text, "--before");
      ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput) << text;
      const std::string message = e.what();
      EXPECT_NE(message.find("--before '" + std::string(text) + "'"), std::string::npos) << message;
      EXPECT_NE(message.find(reason), std::string::npos) << text << ": " << message;
    }
  }
}

}  // namespace
}  // namespace enclave::store
