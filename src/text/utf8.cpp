#include "text/utf8.h"

#include <cstdint>

namespace enclave {

namespace {

// Unicode Table 3-7: the allowed range of the second byte depends on the
// lead byte; later bytes are plain continuation bytes 80..BF.
struct LeadInfo {
  std::size_t length;  // 0: never a valid lead byte
  unsigned char second_lo;
  unsigned char second_hi;
};

LeadInfo lead_info(unsigned char b) {
  if (b < 0x80) return {1, 0, 0};
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

// Number of bytes at s[pos] that belong to one (possibly truncated) sequence:
// equals the sequence length when well-formed, else the maximal subpart (>= 1).
std::size_t scan_sequence(std::string_view s, std::size_t pos, bool* complete) {
  const auto b0 = static_cast<unsigned char>(s[pos]);
  const LeadInfo info = lead_info(b0);
  *complete = false;
  if (info.length == 0) return 1;
  if (info.length == 1) {
    *complete = true;
    return 1;
  }
  std::size_t n = 1;
  for (; n < info.length; ++n) {
    if (pos + n >= s.size()) return n;
    const auto b = static_cast<unsigned char>(s[pos + n]);
    const unsigned char lo = n == 1 ? info.second_lo : 0x80;
    const unsigned char hi = n == 1 ? info.second_hi : 0xBF;
    if (b < lo || b > hi) return n;
  }
  *complete = true;
  return n;
}

}  // namespace

std::size_t utf8_sequence_length(std::string_view s, std::size_t pos) {
  if (pos >= s.size()) return 0;
  bool complete = false;
  const std::size_t n = scan_sequence(s, pos, &complete);
  return complete ? n : 0;
}

bool is_valid_utf8(std::string_view s) {
  for (std::size_t pos = 0; pos < s.size();) {
    const std::size_t n = utf8_sequence_length(s, pos);
    if (n == 0) return false;
    pos += n;
  }
  return true;
}

std::string sanitize_utf8(std::string_view s) {
  if (is_valid_utf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  for (std::size_t pos = 0; pos < s.size();) {
    bool complete = false;
    const std::size_t n = scan_sequence(s, pos, &complete);
    if (complete) {
      out.append(s.substr(pos, n));
    } else {
      out.append(kReplacementChar);
    }
    pos += n;
  }
  return out;
}

char32_t next_code_point(std::string_view s, std::size_t& pos) {
  const std::size_t n = utf8_sequence_length(s, pos);
  if (n == 0) {
    ++pos;
    return U'\uFFFD';
  }
  const auto b0 = static_cast<unsigned char>(s[pos]);
  char32_t cp = 0;
  switch (n) {
    case 1:
      cp = b0;
      break;
    case 2:
      cp = b0 & 0x1Fu;
      break;
    case 3:
      cp = b0 & 0x0Fu;
      break;
    default:
      cp = b0 & 0x07u;
      break;
  }
  for (std::size_t i = 1; i < n; ++i) {
    cp = (cp << 6) | (static_cast<unsigned char>(s[pos + i]) & 0x3Fu);
  }
  pos += n;
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

CodePoints decode_code_points(std::string_view text) {
  CodePoints out;
  out.cps.reserve(text.size());
  out.offsets.reserve(text.size() + 1);
  for (std::size_t pos = 0; pos < text.size();) {
    out.offsets.push_back(pos);
    out.cps.push_back(next_code_point(text, pos));
  }
  out.offsets.push_back(text.size());
  return out;
}

std::size_t trailing_replacement_bytes(std::string_view s) {
  std::size_t n = 0;
  while (s.size() >= n + kReplacementChar.size() &&
         s.substr(s.size() - n - kReplacementChar.size(), kReplacementChar.size()) ==
             kReplacementChar) {
    n += kReplacementChar.size();
  }
  return n;
}

}  // namespace enclave
