#include "text/pii.h"

#include <arpa/inet.h>
#include <re2/re2.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iterator>
#include <map>

#include "core/error.h"
#include "text/pii_checks.h"
#include "text/pii_context.h"

namespace enclave {

std::string_view to_string(PiiType type) {
  switch (type) {
    case PiiType::kEmail:
      return "EMAIL";
    case PiiType::kPhone:
      return "PHONE";
    case PiiType::kRrn:
      return "RRN";
    case PiiType::kBusinessNumber:
      return "BRN";
    case PiiType::kCard:
      return "CARD";
    case PiiType::kIpAddress:
      return "IP";
    case PiiType::kBankAccount:
      return "ACCOUNT";
    case PiiType::kPassport:
      return "PASSPORT";
    case PiiType::kDriverLicense:
      return "DRIVER_LICENSE";
    case PiiType::kPersonName:
      return "PERSON_NAME";
    case PiiType::kAddress:
      return "ADDRESS";
    case PiiType::kSecret:
      return "SECRET";
  }
  return "PII";
}

std::string placeholder(PiiType type) { return "<" + std::string(to_string(type)) + ">"; }

PiiType parse_pii_type(std::string_view name) {
  std::string upper(name);
  for (char& c : upper)
    c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (PiiType t : kAllPiiTypes) {
    if (to_string(t) == upper) return t;
  }
  fail_input(
      "unknown PII type '{}' (expected email, phone, rrn, brn, card, ip, account, passport, "
      "driver_license, person_name, address or secret)",
      name);
}

std::int64_t PiiCounts::total() const {
  std::int64_t sum = 0;
  for (auto v : n) sum += v;
  return sum;
}

PiiCounts& PiiCounts::operator+=(const PiiCounts& other) {
  for (int i = 0; i < kNumPiiTypes; ++i) n[i] += other.n[i];
  return *this;
}

namespace {

using pii_detail::keyword_near;
using pii_detail::TableIndex;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }

// A run of digit groups joined by single separators: "010-1234-5678",
// "+82 2 123 4567", "(02) 123-4567", "192.168.0.1", "4111 1111 1111 1111".
struct Run {
  std::vector<std::pair<std::size_t, std::size_t>> groups;  // digit spans
  std::vector<char> seps;  // between groups: '-', '.', ' ', ')' ("(02) 1") or '(' (" (555")
  bool plus = false;       // '+' right before the first group
  bool paren = false;      // '(' right before the first group
};

constexpr std::size_t kMaxGroups = 16;

// Runs whose edges touch no digit or ASCII letter.
std::vector<Run> digit_runs(std::string_view t) {
  std::vector<Run> runs;
  std::size_t p = 0;
  const std::size_t n = t.size();
  while (p < n) {
    if (!is_digit(t[p])) {
      ++p;
      continue;
    }
    if (p > 0 && is_alnum(t[p - 1])) {  // inside a token like "ID123": skip it
      while (p < n && is_alnum(t[p])) ++p;
      continue;
    }
    Run run;
    run.plus = p > 0 && t[p - 1] == '+' && (p < 2 || !is_alnum(t[p - 2]));
    run.paren = p > 0 && t[p - 1] == '(';
    for (;;) {
      const std::size_t start = p;
      while (p < n && is_digit(t[p])) ++p;
      if (p < n && is_alnum(t[p])) {  // "12ab": this group is part of a word
        while (p < n && is_alnum(t[p])) ++p;
        break;
      }
      run.groups.emplace_back(start, p);
      if (run.groups.size() >= kMaxGroups || p >= n) break;
      char sep = t[p];
      std::size_t next = p + 1;
      if (sep == ')') {
        if (next < n && (t[next] == ' ' || t[next] == '-')) ++next;
      } else if (sep == ' ' && next + 1 < n && t[next] == '(' && is_digit(t[next + 1])) {
        sep = '(';  // "+1 (555) 123-4567"
        ++next;
      } else if (sep != '-' && sep != '.' && sep != ' ') {
        break;
      }
      if (next >= n || !is_digit(t[next])) break;
      run.seps.push_back(sep);
      p = next;
    }
    // "(" is an area code's only when it closes after the first group
    // ("(02) 123-4567"); otherwise it is punctuation before the number
    // ("(card 4111 ...", "(010-1234-5678") and stays outside the match.
    if (run.paren && (run.seps.empty() || run.seps.front() != ')')) run.paren = false;
    if (!run.groups.empty()) runs.push_back(std::move(run));
  }
  return runs;
}

struct Span {
  std::vector<int> layout;  // digits per group
  std::string digits;
  std::vector<char> seps;
  bool plus = false;
  bool paren = false;
  std::size_t begin = 0, end = 0;

  bool seps_all(std::string_view allowed) const {
    return std::all_of(seps.begin(), seps.end(),
                       [&](char c) { return allowed.find(c) != std::string_view::npos; });
  }
  bool same_seps() const {
    return std::all_of(seps.begin(), seps.end(), [&](char c) { return c == seps.front(); });
  }
};

bool has_account_keyword(std::string_view text, const TableIndex& tables, std::size_t begin) {
  return keyword_near(text, tables, begin, begin,
                      {"계좌", "입금", "은행", "송금", "account", "acct", "bank", "iban"}, 48);
}

// A bank name or 계좌 near a plain run of digits: without one, 10-14 digits
// are as likely an order, invoice or tracking number.
bool has_bank_context(std::string_view text, const TableIndex& tables, std::size_t begin,
                      std::size_t end) {
  return keyword_near(text, tables, begin, end,
                      {"계좌", "은행", "뱅크", "농협", "신협", "수협", "우체국", "새마을금고",
                       "저축", "ibk", "sc제일", "account", "bank"},
                      48, 24);
}

bool has_license_keyword(std::string_view text, const TableIndex& tables, std::size_t begin) {
  return keyword_near(text, tables, begin, begin,
                      {"운전면허", "면허번호", "면허", "driver", "licen"}, 48);
}

// The region codes of Korean driver's licences: 11 서울 ... 26 울산, 28 경기북부.
bool license_region_code(std::string_view digits) {
  const int code = (digits[0] - '0') * 10 + (digits[1] - '0');
  return code >= 11 && code <= 28 && code != 27;
}

bool known_account_layout(const std::vector<int>& l) {
  static const std::vector<std::vector<int>> kLayouts = {
      {6, 2, 6},    {3, 2, 6},    {3, 3, 6},    {4, 3, 6}, {3, 6, 5},
      {3, 4, 4, 2}, {3, 6, 2, 3}, {3, 2, 4, 3}, {4, 2, 7},
  };
  return std::find(kLayouts.begin(), kLayouts.end(), l) != kLayouts.end();
}

// Korean number in national form (leading 0): mobile, Seoul, regional, 070.
bool korean_phone_digits(std::string_view d) {
  if (d.size() < 9 || d.size() > 11 || d[0] != '0') return false;
  if (d[1] == '1')
    return (d[2] == '0' || d[2] == '1' || d[2] == '6' || d[2] == '7' || d[2] == '8' ||
            d[2] == '9') &&
           d.size() >= 10;
  if (d[1] == '2') return d.size() == 9 || d.size() == 10;
  if (d[1] >= '3' && d[1] <= '6') return d[2] >= '1' && d[2] <= '5' && d.size() >= 10;
  if (d[1] == '7') return d[2] == '0' && d.size() == 11;
  return false;
}

void number_candidates(std::string_view text, const TableIndex& tables, const Span& s,
                       int current_year, std::vector<PiiMatch>& out) {
  auto add = [&](PiiType type, double confidence) {
    out.push_back({type, s.begin, s.end, confidence});
  };
  const std::size_t nd = s.digits.size();
  const auto& l = s.layout;
  // RRN: YYMMDD-GNNNNNN, or 13 digits plain.
  if ((l == std::vector<int>{6, 7} && s.seps_all("- ")) || (l.size() == 1 && nd == 13)) {
    const RrnCheck check = check_rrn(s.digits, current_year);
    if (check == RrnCheck::kValidChecksum) add(PiiType::kRrn, 0.98);
    if (check == RrnCheck::kValidNoCheck) add(PiiType::kRrn, l.size() == 2 ? 0.9 : 0.6);
  }
  if (l == std::vector<int>{3, 2, 5} && business_number_valid(s.digits)) {
    if (s.seps_all("-"))
      add(PiiType::kBusinessNumber, 0.9);
    else if (s.seps_all(" "))
      add(PiiType::kBusinessNumber, 0.8);
  }
  if (l.size() == 1 && nd == 10 && business_number_valid(s.digits)) {
    const bool labelled =
        keyword_near(text, tables, s.begin, s.begin, {"사업자", "등록번호", "business", "brn"}, 48);
    add(PiiType::kBusinessNumber, labelled ? 0.85 : 0.4);
  }
  // Driver's licences: 11-17-123456-01, or 서울 17-123456-01.
  if (!s.plus && !s.paren && s.seps_all("- ")) {
    const bool coded = l == std::vector<int>{2, 2, 6, 2} && license_region_code(s.digits);
    const bool named =
        l == std::vector<int>{2, 6, 2} && pii_detail::region_name_before(text, s.begin);
    const bool plain = l.size() == 1 && nd == 12 && license_region_code(s.digits);
    const bool licence_word =
        (coded || named || plain) && has_license_keyword(text, tables, s.begin);
    if (coded) add(PiiType::kDriverLicense, licence_word ? 0.95 : 0.7);
    if (named) add(PiiType::kDriverLicense, licence_word ? 0.95 : 0.9);
    if (plain && licence_word) add(PiiType::kDriverLicense, 0.8);
  }
  // Cards: 13-19 digits, plain or in groups of four (Amex/Diners 4-6-5/4-6-4).
  if (nd >= 13 && nd <= 19 && s.same_seps() && s.seps_all("- ") && !s.plus && !s.paren) {
    bool layout_ok =
        l.size() == 1 || l == std::vector<int>{4, 6, 5} || l == std::vector<int>{4, 6, 4};
    if (!layout_ok) {
      layout_ok = true;
      for (std::size_t i = 0; i < l.size(); ++i) {
        if (i + 1 < l.size() ? l[i] != 4 : (l[i] < 1 || l[i] > 4)) layout_ok = false;
      }
    }
    const bool repeated =
        std::all_of(s.digits.begin(), s.digits.end(), [&](char c) { return c == s.digits[0]; });
    if (layout_ok && !repeated && luhn_valid(s.digits)) add(PiiType::kCard, 0.9);
  }
  // Phones.
  if (s.plus) {
    const bool korea = s.digits.starts_with("82") && l.front() == 2;
    std::string national = korea ? "0" + s.digits.substr(s.digits[2] == '0' ? 3 : 2) : "";
    if (korea && korean_phone_digits(national) && l.size() >= 2) {
      add(PiiType::kPhone, 0.9);
    } else if (nd >= 8 && nd <= 15 && l.front() <= 3 && l.size() >= 2 && s.seps_all("-. ()")) {
      add(PiiType::kPhone, 0.85);
    }
  } else if (korean_phone_digits(s.digits) && s.seps_all("-. )")) {
    const bool plain = l.size() == 1;
    const bool grouped = l.size() == 3 && l[1] >= 3 && l[1] <= 4 && l[2] == 4;
    if (grouped || (plain && s.digits[1] == '1')) add(PiiType::kPhone, grouped ? 0.9 : 0.8);
  } else if (l == std::vector<int>{4, 4} && s.seps_all("-") && s.digits[0] == '1' &&
             s.digits[1] >= '5') {
    add(PiiType::kPhone, 0.8);  // 1588-1234 style representative numbers
  } else if (l == std::vector<int>{3, 3, 4} && s.digits[0] != '0' && s.digits[0] != '1') {
    if (s.paren && s.seps.front() == ')')
      add(PiiType::kPhone, 0.8);
    else if (s.same_seps() && s.seps_all("-."))
      add(PiiType::kPhone, 0.55);
  }
  // IPv4.
  if (l.size() == 4 && s.seps_all(".") && !s.plus && !s.paren &&
      std::all_of(l.begin(), l.end(), [](int g) { return g <= 3; })) {
    const std::string ip(text.substr(s.begin, s.end - s.begin));
    in_addr addr{};
    if (inet_pton(AF_INET, ip.c_str(), &addr) == 1) {
      // "버전 1.2.3.4", "version 10.0.0.1": a version number, most likely.
      const bool version =
          keyword_near(text, tables, s.begin, s.begin, {"버전", "version", "ver."}, 12);
      add(PiiType::kIpAddress, version ? 0.4 : 0.9);
    }
  }
  // Bank accounts: hyphenated groups, a bank's layout or an "account" word near.
  if (l.size() >= 3 && l.size() <= 4 && nd >= 10 && nd <= 14 && s.seps_all("-") && !s.plus &&
      !s.paren) {
    if (has_account_keyword(text, tables, s.begin)) {
      add(PiiType::kBankAccount, 0.9);
    } else if (known_account_layout(l)) {
      add(PiiType::kBankAccount, 0.6);
    }
  }
  if (l.size() == 1 && nd >= 10 && nd <= 14 && !s.plus && !s.paren &&
      has_bank_context(text, tables, s.begin, s.end)) {
    add(PiiType::kBankAccount, 0.8);
  }
}

const RE2& email_re() {
  static const RE2 re(
      R"([A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24})");
  return re;
}

const RE2& ipv6_re() {
  static const RE2 re(R"([0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})");
  return re;
}

bool is_hex(char c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

void regex_candidates(std::string_view text, const RE2& re, PiiType type,
                      std::vector<PiiMatch>& out) {
  re2::StringPiece input(text.data(), text.size());
  std::size_t pos = 0;
  re2::StringPiece m;
  while (pos < text.size() && re.Match(input, pos, text.size(), RE2::UNANCHORED, &m, 1)) {
    const auto begin = static_cast<std::size_t>(m.data() - text.data());
    const std::size_t end = begin + m.size();
    if (m.empty()) {
      pos = begin + 1;
      continue;
    }
    pos = end;
    if (type == PiiType::kEmail) {
      if (end < text.size() && is_alnum(text[end])) continue;
      out.push_back({type, begin, end, 0.95});
    } else {
      if ((begin > 0 &&
           (is_hex(text[begin - 1]) || text[begin - 1] == ':' || text[begin - 1] == '.')) ||
          (end < text.size() && (is_alnum(text[end]) || text[end] == ':'))) {
        continue;
      }
      const std::string ip(m.data(), m.size());
      const auto hex = std::count_if(ip.begin(), ip.end(), is_hex);
      in6_addr addr{};
      if (hex >= 3 && inet_pton(AF_INET6, ip.c_str(), &addr) == 1)
        out.push_back({type, begin, end, 0.85});
    }
  }
}

int this_year() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  return tm.tm_year + 1900;
}

}  // namespace

std::vector<PiiMatch> find_pii(std::string_view text, const PiiOptions& options) {
  std::vector<PiiMatch> candidates;
  const int year = options.current_year > 0 ? options.current_year : this_year();
  const bool has_digit = std::any_of(text.begin(), text.end(), is_digit);
  const TableIndex tables(text);
  if (text.find('@') != std::string_view::npos)
    regex_candidates(text, email_re(), PiiType::kEmail, candidates);
  if (text.find(':') != std::string_view::npos)
    regex_candidates(text, ipv6_re(), PiiType::kIpAddress, candidates);
  if (has_digit) {
    for (const Run& run : digit_runs(text)) {
      for (std::size_t i = 0; i < run.groups.size(); ++i) {
        Span s;
        s.plus = i == 0 && run.plus;
        s.paren = i == 0 && run.paren;
        s.begin = run.groups[i].first - (s.plus || s.paren ? 1 : 0);
        for (std::size_t j = i; j < run.groups.size(); ++j) {
          const auto [b, e] = run.groups[j];
          if (j > i) s.seps.push_back(run.seps[j - 1]);
          s.layout.push_back(static_cast<int>(e - b));
          s.digits.append(text.substr(b, e - b));
          s.end = e;
          if (s.digits.size() > 24) break;
          number_candidates(text, tables, s, year, candidates);
        }
      }
    }
  }
  auto on = [&](PiiType t) { return options.enabled[static_cast<int>(t)]; };
  if (on(PiiType::kPersonName)) pii_detail::person_name_candidates(text, tables, candidates);
  if (on(PiiType::kAddress) && has_digit) pii_detail::address_candidates(text, tables, candidates);
  if (on(PiiType::kPassport) && has_digit)
    pii_detail::passport_candidates(text, tables, candidates);
  if (on(PiiType::kSecret)) pii_detail::secret_candidates(text, candidates);
  std::erase_if(candidates, [&](const PiiMatch& m) {
    return !options.enabled[static_cast<int>(m.type)] || m.confidence < options.min_confidence;
  });
  std::sort(candidates.begin(), candidates.end(), [](const PiiMatch& a, const PiiMatch& b) {
    if (a.confidence != b.confidence) return a.confidence > b.confidence;
    if (a.end - a.begin != b.end - b.begin) return a.end - a.begin > b.end - b.begin;
    if (a.type != b.type) return a.type < b.type;
    return a.begin < b.begin;
  });
  std::vector<PiiMatch> chosen;
  std::map<std::size_t, std::size_t> taken;  // begin -> end of chosen spans (disjoint)
  for (const PiiMatch& m : candidates) {
    auto next = taken.lower_bound(m.begin);
    if (next != taken.end() && next->first < m.end) continue;
    if (next != taken.begin() && std::prev(next)->second > m.begin) continue;
    taken.emplace(m.begin, m.end);
    chosen.push_back(m);
  }
  std::sort(chosen.begin(), chosen.end(),
            [](const PiiMatch& a, const PiiMatch& b) { return a.begin < b.begin; });
  return chosen;
}

Redaction redact_pii(std::string_view text, const PiiOptions& options) {
  Redaction out;
  const auto matches = find_pii(text, options);
  out.text.reserve(text.size());
  std::size_t pos = 0;
  for (const PiiMatch& m : matches) {
    out.text.append(text.substr(pos, m.begin - pos));
    out.text += placeholder(m.type);
    ++out.counts[m.type];
    pos = m.end;
  }
  out.text.append(text.substr(pos));
  return out;
}

}  // namespace enclave
