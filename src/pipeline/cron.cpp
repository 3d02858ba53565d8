#include "pipeline/cron.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace enclave::pipeline {
namespace {

constexpr std::array<std::string_view, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                      "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kWeekdays = {"sun", "mon", "tue", "wed",
                                                       "thu", "fri", "sat"};

struct FieldRule {
  const char* name;
  int lo;
  int hi;
  const std::string_view* names = nullptr;  // names for lo, lo+1, ...
  int n_names = 0;
};

int parse_value(std::string_view text, const FieldRule& rule, const std::string& where) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  for (int i = 0; i < rule.n_names; ++i) {
    if (lower == rule.names[i]) return (rule.names == kMonths.data() ? 1 : 0) + i;
  }
  if (text.empty() || text.size() > 2 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    fail_input("{}: {} field: '{}' is not a number{}", where, rule.name, text,
               rule.n_names > 0 ? " or a name" : "");
  }
  int v = std::stoi(std::string(text));
  if (v < rule.lo || v > rule.hi)
    fail_input("{}: {} field: {} is outside {}-{}", where, rule.name, v, rule.lo, rule.hi);
  return v;
}

// Sets the bits an entry like "*/15", "1-5", "mon-fri/2" or "7" names.
template <std::size_t N>
bool parse_field(std::string_view field, const FieldRule& rule, std::bitset<N>& bits,
                 const std::string& where) {
  bool any = field == "*";
  std::size_t start = 0;
  while (start <= field.size()) {
    std::size_t comma = field.find(',', start);
    std::string_view item =
        field.substr(start, comma == std::string_view::npos ? field.npos : comma - start);
    if (item.empty()) fail_input("{}: {} field: empty list item", where, rule.name);
    int step = 1;
    if (std::size_t slash = item.find('/'); slash != item.npos) {
      std::string_view s = item.substr(slash + 1);
      if (s.empty() || s.size() > 2 ||
          !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
          std::stoi(std::string(s)) == 0) {
        fail_input("{}: {} field: bad step '{}'", where, rule.name, s);
      }
      step = std::stoi(std::string(s));
      item = item.substr(0, slash);
    }
    int lo = rule.lo, hi = rule.hi;
    if (item != "*") {
      if (std::size_t dash = item.find('-'); dash != item.npos) {
        lo = parse_value(item.substr(0, dash), rule, where);
        hi = parse_value(item.substr(dash + 1), rule, where);
        if (hi < lo)
          fail_input("{}: {} field: range {} ends before it starts", where, rule.name, item);
      } else {
        lo = parse_value(item, rule, where);
        if (step > 1)
          hi = rule.hi;  // "5/10" is 5, 15, 25, ... as in cron
        else
          hi = lo;
      }
    }
    for (int v = lo; v <= hi; v += step) bits.set(static_cast<std::size_t>(N == 7 ? v % 7 : v));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return any;
}

}  // namespace

Cron parse_cron(const std::string& text, const std::string& what) {
  std::string expr = text;
  if (expr == "@hourly")
    expr = "0 * * * *";
  else if (expr == "@daily" || expr == "@midnight")
    expr = "0 0 * * *";
  else if (expr == "@weekly")
    expr = "0 0 * * 0";
  else if (expr == "@monthly")
    expr = "0 0 1 * *";
  else if (expr == "@yearly" || expr == "@annually")
    expr = "0 0 1 1 *";
  else if (expr.starts_with("@"))
    fail_input("{}: unknown schedule '{}'", what, text);
  std::istringstream in(expr);
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() != 5) {
    fail_input("{}: '{}' has {} fields; a cron schedule has 5 (minute hour day month weekday)",
               what, text, fields.size());
  }
  Cron cron;
  cron.text = text;
  parse_field(fields[0], {"minute", 0, 59}, cron.minute, what);
  parse_field(fields[1], {"hour", 0, 23}, cron.hour, what);
  cron.day_any = parse_field(fields[2], {"day-of-month", 1, 31}, cron.day, what);
  parse_field(fields[3], {"month", 1, 12, kMonths.data(), 12}, cron.month, what);
  // 7 is Sunday too; the modulo in parse_field folds it onto 0.
  cron.weekday_any =
      parse_field(fields[4], {"weekday", 0, 7, kWeekdays.data(), 7}, cron.weekday, what);
  return cron;
}

bool cron_matches(const Cron& c, const std::tm& t) {
  if (!c.minute.test(static_cast<std::size_t>(t.tm_min)) ||
      !c.hour.test(static_cast<std::size_t>(t.tm_hour)) ||
      !c.month.test(static_cast<std::size_t>(t.tm_mon + 1))) {
    return false;
  }
  const bool day = c.day.test(static_cast<std::size_t>(t.tm_mday));
  const bool weekday = c.weekday.test(static_cast<std::size_t>(t.tm_wday));
  if (c.day_any && c.weekday_any) return true;
  if (c.day_any) return weekday;
  if (c.weekday_any) return day;
  return day || weekday;
}

std::optional<double> cron_next(const Cron& cron, double after, double until) {
  if (!(until > after)) return std::nullopt;
  until = std::min(until, after + 366.0 * 86400.0);
  // Minute by minute: at most ~527k steps, and a watcher that checks every
  // few seconds looks at one or two.
  auto t = static_cast<std::time_t>(std::floor(after / 60.0) * 60.0) + 60;
  for (; static_cast<double>(t) <= until; t += 60) {
    std::tm local{};
    localtime_r(&t, &local);
    if (cron_matches(cron, local)) return static_cast<double>(t);
  }
  return std::nullopt;
}

}  // namespace enclave::pipeline
