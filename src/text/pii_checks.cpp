#include "text/pii_checks.h"

namespace enclave {

bool luhn_valid(std::string_view s) {
  int sum = 0;
  int n = 0;
  for (auto it = s.rbegin(); it != s.rend(); ++it) {
    if (*it < '0' || *it > '9') continue;
    int d = *it - '0';
    if (n % 2 == 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    ++n;
  }
  return n > 0 && sum % 10 == 0;
}

namespace {

bool all_digits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

int two(std::string_view s, std::size_t at) { return (s[at] - '0') * 10 + (s[at + 1] - '0'); }

bool leap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int days_in_month(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && leap(year) ? 29 : kDays[month - 1];
}

}  // namespace

RrnCheck check_rrn(std::string_view d, int current_year) {
  if (d.size() != 13 || !all_digits(d)) return RrnCheck::kInvalid;
  const int gender = d[6] - '0';
  int century = 0;
  switch (gender) {
    case 1:
    case 2:
    case 5:
    case 6:
      century = 1900;
      break;
    case 3:
    case 4:
    case 7:
    case 8:
      century = 2000;
      break;
    case 9:
    case 0:
      century = 1800;
      break;
    default:
      return RrnCheck::kInvalid;
  }
  const int year = century + two(d, 0);
  const int month = two(d, 2);
  const int day = two(d, 4);
  if (year > current_year || month < 1 || month > 12) return RrnCheck::kInvalid;
  if (day < 1 || day > days_in_month(year, month)) return RrnCheck::kInvalid;
  static constexpr int kWeights[] = {2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5};
  int sum = 0;
  for (int i = 0; i < 12; ++i) sum += (d[i] - '0') * kWeights[i];
  const int check = (11 - sum % 11) % 10;
  return check == d[12] - '0' ? RrnCheck::kValidChecksum : RrnCheck::kValidNoCheck;
}

bool business_number_valid(std::string_view d) {
  if (d.size() != 10 || !all_digits(d)) return false;
  static constexpr int kWeights[] = {1, 3, 7, 1, 3, 7, 1, 3, 5};
  int sum = 0;
  for (int i = 0; i < 9; ++i) sum += (d[i] - '0') * kWeights[i];
  sum += (d[8] - '0') * 5 / 10;
  return (10 - sum % 10) % 10 == d[9] - '0';
}

}  // namespace enclave
