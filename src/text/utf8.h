// UTF-8 helpers for the tokenizers: validation, repair and code-point walks.
// Repair follows the Unicode "substitution of maximal subparts" practice
// (Unicode 15, section 3.9, U+FFFD substitution), which is what Rust's
// String::from_utf8_lossy and hence Hugging Face `tokenizers` produce: each
// maximal ill-formed subsequence becomes one U+FFFD.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace enclave {

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 sequence starting at s[pos], or 0 if the
// bytes there are not a complete well-formed sequence.
std::size_t utf8_sequence_length(std::string_view s, std::size_t pos);

bool is_valid_utf8(std::string_view s);

// s with every maximal ill-formed subsequence replaced by U+FFFD.
std::string sanitize_utf8(std::string_view s);

// Decodes the code point at s[pos] and advances pos. s must be valid UTF-8
// (sanitize first); a malformed byte decodes as U+FFFD and advances by one.
char32_t next_code_point(std::string_view s, std::size_t& pos);

void append_utf8(std::string& out, char32_t cp);

// The text split into code points, with offsets[i] the byte offset of cps[i]
// and offsets.back() == text.size(). Text must be valid UTF-8.
struct CodePoints {
  std::vector<char32_t> cps;
  std::vector<std::size_t> offsets;
};
CodePoints decode_code_points(std::string_view text);

// Byte lengths of the trailing U+FFFD characters of s (0 if none).
std::size_t trailing_replacement_bytes(std::string_view s);

}  // namespace enclave
