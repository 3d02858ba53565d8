// Internal to text/pii: the detectors that judge a candidate by the words
// around it rather than by a check digit: Korean person names (a surname
// list, labels such as 성명/이름, titles such as 씨/님/과장), addresses
// (chains of administrative units 시·도 > 시·군·구 > 읍·면·동 > 리 > 로·길
// ending in a number), passports, and secrets (private keys, API key
// formats, password=value). pii.cpp merges their candidates with the
// number-based ones. Confidences are listed in pii.h.
// Thread safety: patterns compile once (thread-safe statics); every function
// is safe from any thread.
#pragma once

#include <initializer_list>
#include <string_view>
#include <vector>

#include "text/pii.h"

namespace enclave::pii_detail {

// Whether one of words (ASCII matched case-insensitively) occurs within
// `before` bytes before begin or `after` bytes after end, without crossing a
// line break or a sentence end (". " not after an ASCII letter, "? ", "! ").
bool keyword_near(std::string_view text, std::size_t begin, std::size_t end,
                  std::initializer_list<std::string_view> words, std::size_t before,
                  std::size_t after = 0);

// A Korean province or metropolitan city name (서울, 경기, 제주 ...) ends
// right before `begin`, optionally followed by one space.
bool region_name_before(std::string_view text, std::size_t begin);

void person_name_candidates(std::string_view text, std::vector<PiiMatch>& out);
void address_candidates(std::string_view text, std::vector<PiiMatch>& out);
void passport_candidates(std::string_view text, std::vector<PiiMatch>& out);
void secret_candidates(std::string_view text, std::vector<PiiMatch>& out);

}  // namespace enclave::pii_detail
