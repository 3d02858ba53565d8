#include "text/byte_level.h"

#include <array>
#include <vector>

#include "text/utf8.h"

namespace enclave {

namespace {

struct Tables {
  std::array<std::string, 256> chars;
  std::array<std::int16_t, 512> bytes;  // code point -> byte, -1 if none

  Tables() {
    bytes.fill(-1);
    auto printable = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const char32_t cp = printable(b) ? static_cast<char32_t>(b) : static_cast<char32_t>(next++);
      append_utf8(chars[static_cast<std::size_t>(b)], cp);
      bytes[cp] = static_cast<std::int16_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::string& byte_level_char(std::uint8_t b) { return tables().chars[b]; }

std::optional<std::uint8_t> byte_level_byte(char32_t c) {
  if (c >= tables().bytes.size() || tables().bytes[c] < 0) return std::nullopt;
  return static_cast<std::uint8_t>(tables().bytes[c]);
}

std::string to_byte_level(std::string_view text) {
  // Each byte becomes one or two bytes: size first, then fill (one allocation at most).
  const Tables& t = tables();
  std::size_t n = 0;
  for (char c : text) n += t.chars[static_cast<std::uint8_t>(c)].size();
  std::string out(n, '\0');
  char* p = out.data();
  for (char c : text) {
    const std::string& s = t.chars[static_cast<std::uint8_t>(c)];
    for (char b : s) *p++ = b;
  }
  return out;
}

std::optional<std::string> from_byte_level(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    const std::optional<std::uint8_t> b = byte_level_byte(next_code_point(text, pos));
    if (!b) return std::nullopt;
    out.push_back(static_cast<char>(*b));
  }
  return out;
}

}  // namespace enclave
