// Unicode text operations that metrics and instruction checks share: case
// mapping (ICU, root locale, so Korean and other caseless scripts pass
// through), punctuation and whitespace tests and word splitting. Scripts
// (script_of, dominant_script) come from text/script.h.
// Inputs must be UTF-8; invalid bytes are treated as U+FFFD.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "text/script.h"

namespace enclave::eval {

std::string to_lower(std::string_view text);
std::string to_upper(std::string_view text);

// Unicode general category P* (ASCII !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~ count
// too, as Python's string.punctuation does for the symbols among them).
bool is_punctuation(char32_t c);

std::u32string to_code_points(std::string_view text);
std::string from_code_points(std::u32string_view cps);

// text without punctuation characters.
std::string remove_punctuation(std::string_view text);
// text without any whitespace.
std::string remove_whitespace(std::string_view text);
// Leading and trailing whitespace removed (Unicode White_Space).
std::string strip(std::string_view text);
// Whitespace-separated pieces.
std::vector<std::string> split_whitespace(std::string_view text);
// Maximal runs of letters, marks and digits ("don't" -> "don", "t"), the
// words that word counts and ROUGE see; works for Hangul as for Latin.
std::vector<std::string> word_tokens(std::string_view text);

}  // namespace enclave::eval
