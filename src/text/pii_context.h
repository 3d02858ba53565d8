// Internal to text/pii: the detectors that judge a candidate by the words
// around it rather than by a check digit, and what they share. pii.cpp
// merges their candidates with the number-based ones; confidences are
// listed in pii.h.
//   pii_context.cpp  context windows, Markdown table columns, Korean person
//                    names (a surname list, labels such as 성명/이름, titles
//                    such as 씨/님/과장), passports
//   pii_address.cpp  addresses: chains of administrative units 시·도 >
//                    시·군·구 > 읍·면·동 > 리 > 로·길 ending in a number
//   pii_secret.cpp   private keys, API key formats, password=value
// Thread safety: patterns compile once (thread-safe statics); every function
// is safe from any thread.
#pragma once

#include <re2/re2.h>

#include <algorithm>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

#include "text/pii.h"

namespace enclave::pii_detail {

inline bool is_ascii_alnum(char c) {
  return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}
inline bool is_hangul_syllable(char32_t c) { return c >= 0xAC00 && c <= 0xD7A3; }

inline bool one_of(std::string_view s, std::initializer_list<std::string_view> list) {
  return std::find(list.begin(), list.end(), s) != list.end();
}
inline bool equals_any(std::string_view s, std::span<const std::string_view> list) {
  return std::find(list.begin(), list.end(), s) != list.end();
}
inline bool starts_with_any(std::string_view s, std::span<const std::string_view> list) {
  return std::any_of(list.begin(), list.end(),
                     [&](std::string_view w) { return s.starts_with(w); });
}

// No ASCII letter or digit right before begin or right after end.
bool ascii_bounded(std::string_view text, std::size_t begin, std::size_t end);

// A table cell's text, trimmed: [begin, end) in the text.
struct Cell {
  std::size_t begin = 0, end = 0;
};

// The Markdown tables of a text (a header row, a rule row, then rows),
// indexed once so that a candidate in a long table finds its column's
// header without climbing the rows. Holds a view of the text.
class TableIndex {
 public:
  explicit TableIndex(std::string_view text);
  // The header cell of the column pos lies in; "" outside a table's data rows.
  std::string_view column_header(std::size_t pos) const;
  // The data cells of the columns whose header ends with one of labels:
  // | 성명 | 주소 | puts the names and addresses in the rows below it.
  std::vector<Cell> cells_under(std::span<const std::string_view> labels) const;

 private:
  struct Row {
    std::size_t begin, end;                // the data row's line
    std::size_t header_begin, header_end;  // its table's header line
  };
  std::string_view text_;
  std::vector<Row> rows_;  // in text order
};

// Whether one of words (ASCII matched case-insensitively, spaces ignored:
// "사업자 등록 번호" holds 등록번호) occurs within
// `before` bytes before begin or `after` bytes after end, without crossing a
// line break or a sentence end (". " not after an ASCII letter, "? ", "! "),
// or in the header of the Markdown table column begin lies in.
bool keyword_near(std::string_view text, const TableIndex& tables, std::size_t begin,
                  std::size_t end, std::initializer_list<std::string_view> words,
                  std::size_t before, std::size_t after = 0);

// A Korean province or metropolitan city name (서울, 경기, 제주 ...) ends
// right before `begin`, optionally followed by one space.
bool region_name_before(std::string_view text, std::size_t begin);

// fn(begin, end) for each match of re in text: the span of its first
// capturing group if it has one, else the whole match.
template <typename Fn>
void for_each_match(std::string_view text, const RE2& re, Fn&& fn) {
  re2::StringPiece input(text.data(), text.size());
  re2::StringPiece m[2];
  const int n = std::min(re.NumberOfCapturingGroups() + 1, 2);
  std::size_t pos = 0;
  while (pos < text.size() && re.Match(input, pos, text.size(), RE2::UNANCHORED, m, n)) {
    const auto begin = static_cast<std::size_t>(m[0].data() - text.data());
    pos = begin + std::max<std::size_t>(m[0].size(), 1);
    const re2::StringPiece& span = n > 1 ? m[1] : m[0];
    const auto span_begin = static_cast<std::size_t>(span.data() - text.data());
    fn(span_begin, span_begin + span.size());
  }
}

void person_name_candidates(std::string_view text, const TableIndex& tables,
                            std::vector<PiiMatch>& out);
void address_candidates(std::string_view text, const TableIndex& tables,
                        std::vector<PiiMatch>& out);
void passport_candidates(std::string_view text, const TableIndex& tables,
                         std::vector<PiiMatch>& out);
void secret_candidates(std::string_view text, std::vector<PiiMatch>& out);

}  // namespace enclave::pii_detail
