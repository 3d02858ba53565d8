#include "text/script.h"

#include <unicode/uchar.h>
#include <unicode/uscript.h>

#include <array>
#include <cstdint>

#include "text/utf8.h"

namespace enclave {

namespace {

constexpr std::array<std::string_view, kNumScripts> kNames{"hangul",   "latin",  "han",   "kana",
                                                           "cyrillic", "arabic", "greek", "other"};

}  // namespace

std::string_view to_string(Script script) { return kNames[static_cast<int>(script)]; }

std::optional<Script> parse_script(std::string_view name) {
  for (int i = 0; i < kNumScripts; ++i) {
    if (kNames[i] == name) return static_cast<Script>(i);
  }
  return std::nullopt;
}

std::string_view script_names() {
  return "hangul, latin, han, kana, cyrillic, arabic, greek, other";
}

Script script_of(char32_t c) {
  // Data filters call this for every letter of a corpus: answer the common
  // blocks without asking ICU (each block is wholly assigned to its script).
  if (c < 0x80) return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ? Script::kLatin : Script::kOther;
  if (c >= 0xAC00 && c <= 0xD7A3) return Script::kHangul;  // Hangul syllables
  if (c >= 0x4E00 && c <= 0x9FFF) return Script::kHan;     // CJK unified ideographs
  UErrorCode status = U_ZERO_ERROR;
  const UScriptCode code = uscript_getScript(static_cast<UChar32>(c), &status);
  if (U_FAILURE(status)) return Script::kOther;
  switch (code) {
    case USCRIPT_LATIN:
      return Script::kLatin;
    case USCRIPT_HANGUL:
      return Script::kHangul;
    case USCRIPT_HAN:
      return Script::kHan;
    case USCRIPT_HIRAGANA:
    case USCRIPT_KATAKANA:
      return Script::kKana;
    case USCRIPT_CYRILLIC:
      return Script::kCyrillic;
    case USCRIPT_ARABIC:
      return Script::kArabic;
    case USCRIPT_GREEK:
      return Script::kGreek;
    default:
      return Script::kOther;
  }
}

bool is_script_letter(char32_t c) {
  if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  return u_isalpha(static_cast<UChar32>(c)) != 0;
}

Script dominant_script(std::string_view text) {
  std::array<std::int64_t, kNumScripts> counts{};
  for (std::size_t pos = 0; pos < text.size();) {
    const char32_t c = next_code_point(text, pos);
    if (is_script_letter(c)) ++counts[static_cast<int>(script_of(c))];
  }
  Script best = Script::kOther;
  std::int64_t best_count = 0;
  for (int i = 0; i < kNumScripts; ++i) {
    if (counts[i] > best_count) {
      best = static_cast<Script>(i);
      best_count = counts[i];
    }
  }
  return best;
}

}  // namespace enclave
