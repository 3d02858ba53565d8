// PII detection and redaction for Korean and English text: e-mail
// addresses, phone numbers (Korean mobile, landline and 15xx numbers, and
// international +CC forms), Korean resident registration numbers (RRN),
// business registration numbers (BRN), payment cards, IPv4/IPv6 addresses
// and bank account numbers. Candidates come from RE2 patterns and are
// confirmed by checks (pii_checks.h): an RRN needs a real birth date and a
// valid gender digit (its check digit raises confidence but cannot be
// required: numbers issued from October 2020 carry none), a card needs Luhn,
// a BRN its check digit, an account a bank's digit layout or an "account"
// word nearby. Matched spans never touch a digit or ASCII letter on either
// side, so a pattern inside a longer number is not a match. Where candidates
// overlap, the more confident (then longer) one wins.
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

enum class PiiType { kEmail, kPhone, kRrn, kBusinessNumber, kCard, kIpAddress, kBankAccount };
inline constexpr int kNumPiiTypes = 7;
inline constexpr std::array<PiiType, kNumPiiTypes> kAllPiiTypes{
    PiiType::kEmail, PiiType::kPhone,     PiiType::kRrn,        PiiType::kBusinessNumber,
    PiiType::kCard,  PiiType::kIpAddress, PiiType::kBankAccount};

// "EMAIL", "PHONE", "RRN", "BRN", "CARD", "IP", "ACCOUNT".
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

struct PiiOptions {
  std::array<bool, kNumPiiTypes> enabled{true, true, true, true, true, true, true};
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
