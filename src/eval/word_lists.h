// Word lists for the generated task sets (builtin_tasks.h): everyday English
// and Korean nouns, written for Enclave, so the shipped tasks carry no
// third-party licence.
// Thread safety: immutable statics.
#pragma once

#include <string_view>
#include <vector>

namespace enclave::eval {

const std::vector<std::string_view>& english_words();  // lowercase ASCII, 4-7 letters
const std::vector<std::string_view>& korean_words();   // Hangul, 2-5 syllables

}  // namespace enclave::eval
