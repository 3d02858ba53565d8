#include "eval/unicode_ops.h"

#include <unicode/locid.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include "text/utf8.h"

namespace enclave::eval {
namespace {

bool is_space(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)) != 0; }

bool is_word_char(char32_t c) {
  const auto u = static_cast<UChar32>(c);
  return u_isalnum(u) != 0 || (U_GET_GC_MASK(u) & U_GC_M_MASK) != 0;
}

std::string to_case(std::string_view text, bool upper) {
  std::string clean = sanitize_utf8(text);
  icu::UnicodeString s = icu::UnicodeString::fromUTF8(
      icu::StringPiece(clean.data(), static_cast<int32_t>(clean.size())));
  if (upper) {
    s.toUpper(icu::Locale::getRoot());
  } else {
    s.toLower(icu::Locale::getRoot());
  }
  std::string out;
  s.toUTF8String(out);
  return out;
}

}  // namespace

std::string to_lower(std::string_view text) { return to_case(text, /*upper=*/false); }
std::string to_upper(std::string_view text) { return to_case(text, /*upper=*/true); }

bool is_punctuation(char32_t c) {
  if (c < 0x80) {
    return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
           (c >= '{' && c <= '~');
  }
  return u_ispunct(static_cast<UChar32>(c)) != 0;
}

std::u32string to_code_points(std::string_view text) {
  std::string clean = sanitize_utf8(text);
  std::u32string out;
  std::size_t pos = 0;
  while (pos < clean.size()) out.push_back(next_code_point(clean, pos));
  return out;
}

std::string from_code_points(std::u32string_view cps) {
  std::string out;
  for (char32_t c : cps) append_utf8(out, c);
  return out;
}

std::string remove_punctuation(std::string_view text) {
  std::u32string out;
  for (char32_t c : to_code_points(text)) {
    if (!is_punctuation(c)) out.push_back(c);
  }
  return from_code_points(out);
}

std::string remove_whitespace(std::string_view text) {
  std::u32string out;
  for (char32_t c : to_code_points(text)) {
    if (!is_space(c)) out.push_back(c);
  }
  return from_code_points(out);
}

std::string strip(std::string_view text) {
  std::u32string cps = to_code_points(text);
  std::size_t begin = 0;
  std::size_t end = cps.size();
  while (begin < end && is_space(cps[begin])) ++begin;
  while (end > begin && is_space(cps[end - 1])) --end;
  return from_code_points(std::u32string_view(cps).substr(begin, end - begin));
}

namespace {
template <typename Keep>
std::vector<std::string> split_runs(std::string_view text, Keep keep) {
  std::vector<std::string> out;
  std::u32string run;
  for (char32_t c : to_code_points(text)) {
    if (keep(c)) {
      run.push_back(c);
    } else if (!run.empty()) {
      out.push_back(from_code_points(run));
      run.clear();
    }
  }
  if (!run.empty()) out.push_back(from_code_points(run));
  return out;
}
}  // namespace

std::vector<std::string> split_whitespace(std::string_view text) {
  return split_runs(text, [](char32_t c) { return !is_space(c); });
}

std::vector<std::string> word_tokens(std::string_view text) {
  return split_runs(text, [](char32_t c) { return is_word_char(c); });
}

}  // namespace enclave::eval
