// PII detection and redaction for Korean and English text. Each match has a
// type and a confidence in 0..1; callers choose the types and the lowest
// confidence they act on.
//
//   type            found by                                        confidence
//   email           RE2 pattern                                     0.95
//   phone           Korean mobile, landline, 15xx; +CC forms         0.55-0.9
//   rrn             주민등록번호: birth date and gender digit;       0.6-0.98
//                   check digit raises it (numbers issued from
//                   October 2020 carry none)
//   brn             사업자등록번호 check digit: 3-2-5 groups;        0.8-0.9
//                   10 digits plain with 사업자/등록번호 near        0.85 (0.4 alone)
//   card            Luhn, 13-19 digits in card layouts               0.9
//   ip              IPv4 / IPv6 parsed by inet_pton                  0.85-0.9
//   account         hyphenated groups: "account" word or a bank's    0.9 / 0.6
//                   layout; plain 10-14 digits only with a bank
//                   name or 계좌 near                                0.8
//   passport        여권번호: M/S/R/O/D/G + 8 digits, or + 3 digits,  0.9 with 여권/
//                   a letter and 4 digits (2021 format)              passport near, else 0.45
//   driver_license  운전면허: region code 11-28 (or region name) -   0.7-0.95
//                   YY - 6 digits - 2 digits
//   person_name     Korean names (surname list, compound surnames)   0.9 after 성명/이름/
//                   after a label or in a 성명 table column, or      예금주 ... and ':', in a
//                   before 씨/님/a job title (three-syllable names   table cell or column;
//                   only); "Name: John Smith" (0.85)                 0.8 이름은; 0.55 label
//                                                                    and space; 0.6 title
//   address         administrative-unit chains in order (시·도 >     0.9 after 주소/소재지 or
//                   시·군·구 > 읍·면·동 > 리 > 로·길) ending in a      in such a column; 0.85
//                   building or lot number, with 동/호/층 details    from a province; 0.7
//                                                                    from 시·군·구; 0.55 other
//                                                                    chains; 0.4 one unit
//   secret          private key blocks, known API key formats (AWS,  0.95; 0.9 for
//                   GitHub, Slack, Google, OpenAI, Stripe, HF, JWT)  password= values,
//                   and values of password/secret/token/api_key=     0.85 token/key=
//                   (and 비밀번호:), the value only
//
// Matched spans never touch a digit or ASCII letter on either side, so a
// pattern inside a longer number is not a match. Where candidates overlap,
// the more confident (then longer) one wins.
//
// It sits in text, below both of its users, so the data `pii` step and the
// request log (monitor) share one detector without depending on each other.
// Thread safety: stateless after first use (patterns compile once, thread-
// safely); every function is safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace enclave {

enum class PiiType {
  kEmail,
  kPhone,
  kRrn,
  kBusinessNumber,
  kCard,
  kIpAddress,
  kBankAccount,
  kPassport,
  kDriverLicense,
  kPersonName,
  kAddress,
  kSecret,
};
inline constexpr int kNumPiiTypes = 12;
inline constexpr std::array<PiiType, kNumPiiTypes> kAllPiiTypes{
    PiiType::kEmail,         PiiType::kPhone,      PiiType::kRrn,         PiiType::kBusinessNumber,
    PiiType::kCard,          PiiType::kIpAddress,  PiiType::kBankAccount, PiiType::kPassport,
    PiiType::kDriverLicense, PiiType::kPersonName, PiiType::kAddress,     PiiType::kSecret};

// "EMAIL", "PHONE", "RRN", "BRN", "CARD", "IP", "ACCOUNT", "PASSPORT",
// "DRIVER_LICENSE", "PERSON_NAME", "ADDRESS", "SECRET".
std::string_view to_string(PiiType type);
// "<EMAIL>", "<PHONE>", ...
std::string placeholder(PiiType type);
// Inverse of to_string (case-insensitive); throws Error(kInvalidInput).
PiiType parse_pii_type(std::string_view name);

struct PiiMatch {
  PiiType type = PiiType::kEmail;
  std::size_t begin = 0;  // byte offsets into the text
  std::size_t end = 0;
  double confidence = 0;  // 0..1
};

// Every type on: the default.
constexpr std::array<bool, kNumPiiTypes> all_pii_types() {
  std::array<bool, kNumPiiTypes> on{};
  on.fill(true);
  return on;
}

struct PiiOptions {
  std::array<bool, kNumPiiTypes> enabled = all_pii_types();
  double min_confidence = 0.5;
  int current_year = 0;  // for RRN birth dates; 0: this year
};

// Matches in text order, without overlaps. Text should be valid UTF-8 (other
// bytes are treated as non-digit, non-letter characters).
std::vector<PiiMatch> find_pii(std::string_view text, const PiiOptions& options = {});

struct PiiCounts {
  std::array<std::int64_t, kNumPiiTypes> n{};
  std::int64_t total() const;
  std::int64_t& operator[](PiiType t) { return n[static_cast<int>(t)]; }
  std::int64_t operator[](PiiType t) const { return n[static_cast<int>(t)]; }
  PiiCounts& operator+=(const PiiCounts& other);
};

struct Redaction {
  std::string text;  // every match replaced by its placeholder
  PiiCounts counts;
};

// Replaces every match with its typed placeholder and counts them by type.
Redaction redact_pii(std::string_view text, const PiiOptions& options = {});

}  // namespace enclave
