// Writing systems of text: which script a code point belongs to (ICU's
// Script property, UAX #24), and which script most letters of a text use.
// One classifier for everything that asks: data's quality filter counts
// letters per script (`--min-script hangul=0.3`), eval's language check asks
// for the dominant one. Common and Inherited code points (digits,
// punctuation, combining marks) and scripts not listed are kOther.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <optional>
#include <string_view>

namespace enclave {

// Hiragana and Katakana are one entry (kKana): Japanese text mixes them.
// The order is the quality filter's order of script_min/script_max checks
// (the first failing one names the removal) and dominant_script's tie-break.
enum class Script { kHangul, kLatin, kHan, kKana, kCyrillic, kArabic, kGreek, kOther };
inline constexpr int kNumScripts = 8;

// "hangul", "latin", "han", "kana", "cyrillic", "arabic", "greek", "other".
std::string_view to_string(Script script);
// The script named by to_string, or nullopt for any other name.
std::optional<Script> parse_script(std::string_view name);
// All names, comma-separated, for error messages.
std::string_view script_names();

Script script_of(char32_t c);

// True for the code points counted as letters per script (ICU Alphabetic).
bool is_script_letter(char32_t c);

// The script of most letters in UTF-8 text (invalid bytes count as U+FFFD,
// not a letter); kOther if it has no letters. Ties go to the script listed
// first in the enum.
Script dominant_script(std::string_view text);

}  // namespace enclave
