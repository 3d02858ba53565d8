// Cron schedules for `on: schedule:` triggers: the five fields of crontab(5)
// (minute hour day-of-month month day-of-week) with `*`, lists, ranges,
// steps (`*/15`, `1-5/2`), month and weekday names, and @hourly, @daily,
// @weekly, @monthly, @yearly. As in cron, when both day fields are
// restricted a day matching either one matches. Times are read in the
// machine's local time zone ($TZ honoured, through localtime_r).
// Thread safety: Cron is a value; the functions are safe from any thread.
#pragma once

#include <bitset>
#include <ctime>
#include <optional>
#include <string>

namespace enclave::pipeline {

struct Cron {
  std::string text;
  std::bitset<60> minute;
  std::bitset<24> hour;
  std::bitset<32> day;     // 1..31
  std::bitset<13> month;   // 1..12
  std::bitset<7> weekday;  // 0 = Sunday
  bool day_any = true;
  bool weekday_any = true;
};

// Throws Error(kInvalidInput) "WHAT: REASON" naming the bad field.
Cron parse_cron(const std::string& text, const std::string& what);

bool cron_matches(const Cron& cron, const std::tm& local);

// The first whole minute t with after < t <= until (seconds since the epoch)
// that the schedule names in local time; none if there is none. Looks at most
// 366 days past `after`.
std::optional<double> cron_next(const Cron& cron, double after, double until);

}  // namespace enclave::pipeline
