#include "store/iso_time.h"

#include <ctime>

#include "core/error.h"

namespace enclave::store {
namespace {

// Reads exactly n digits at text[pos...]; -1 if they are not all digits.
int digits(std::string_view text, std::size_t pos, std::size_t n) {
  if (pos + n > text.size()) return -1;
  int value = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

bool is_leap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

}  // namespace

double parse_time(std::string_view text, std::string_view what) {
  auto bad = [&](std::string_view reason) -> double {
    fail_input(
        "{} '{}': {} (expected an ISO 8601 date such as 2024-06-01 or date-time such as "
        "2024-06-01T12:00:00Z)",
        what, text, reason);
  };
  const int year = digits(text, 0, 4);
  const int month = digits(text, 5, 2);
  const int day = digits(text, 8, 2);
  if (year < 0 || month < 0 || day < 0 || text[4] != '-' || text[7] != '-')
    return bad("not a date");
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return bad("month out of range");
  const int month_days = kDays[month - 1] + (month == 2 && is_leap(year) ? 1 : 0);
  if (day < 1 || day > month_days) return bad("day out of range");
  int hour = 0;
  int minute = 0;
  int second = 0;
  double fraction = 0;
  int offset_seconds = 0;
  std::size_t pos = 10;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != ' ') return bad("expected 'T' after the date");
    hour = digits(text, pos + 1, 2);
    minute = digits(text, pos + 4, 2);
    if (hour < 0 || minute < 0 || pos + 3 >= text.size() || text[pos + 3] != ':')
      return bad("expected HH:MM after the date");
    pos += 6;
    if (pos < text.size() && text[pos] == ':') {
      second = digits(text, pos + 1, 2);
      if (second < 0) return bad("expected two digits of seconds");
      pos += 3;
      if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
        double scale = 0.1;
        std::size_t start = ++pos;
        for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
          fraction += (text[pos] - '0') * scale;
          scale /= 10;
        }
        if (pos == start) return bad("expected digits after the decimal point");
      }
    }
    if (hour > 23 || minute > 59 || second > 59) return bad("time out of range");
    if (pos < text.size()) {
      if (text[pos] == 'Z') {
        ++pos;
      } else if (text[pos] == '+' || text[pos] == '-') {
        const int sign = text[pos] == '-' ? -1 : 1;
        const int oh = digits(text, pos + 1, 2);
        const bool colon = pos + 3 < text.size() && text[pos + 3] == ':';
        const int om = digits(text, pos + (colon ? 4 : 3), 2);
        if (oh < 0 || om < 0 || oh > 23 || om > 59) return bad("bad UTC offset");
        offset_seconds = sign * (oh * 3600 + om * 60);
        pos += colon ? 6 : 5;
      }
    }
    if (pos != text.size()) return bad("unexpected text after the time");
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<double>(timegm(&tm)) + fraction - offset_seconds;
}

}  // namespace enclave::store
