// Case mapping goes through ICU's root-locale full mappings, which are the
// Unicode SpecialCasing rules Python's str methods implement (ß -> SS, the
// final-sigma rule in lower()); ASCII-only text takes a direct path.
#include "jinja/pystr.h"

#include <unicode/uchar.h>
#include <unicode/ustring.h>

#include <algorithm>

#include "jinja/value.h"

namespace enclave::jinja {
namespace {

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c & 0x80) == 0; });
}

std::u16string to_u16(std::string_view s) {
  std::u16string out(s.size() + 1, u'\0');
  int32_t len = 0;
  UErrorCode status = U_ZERO_ERROR;
  u_strFromUTF8WithSub(reinterpret_cast<UChar*>(out.data()), static_cast<int32_t>(out.size()), &len,
                       s.data(), static_cast<int32_t>(s.size()), 0xFFFD, nullptr, &status);
  out.resize(U_SUCCESS(status) ? static_cast<std::size_t>(len) : 0);
  return out;
}

std::string to_u8(const std::u16string& s) {
  std::string out(s.size() * 3 + 1, '\0');
  int32_t len = 0;
  UErrorCode status = U_ZERO_ERROR;
  u_strToUTF8WithSub(out.data(), static_cast<int32_t>(out.size()), &len,
                     reinterpret_cast<const UChar*>(s.data()), static_cast<int32_t>(s.size()),
                     0xFFFD, nullptr, &status);
  out.resize(U_SUCCESS(status) ? static_cast<std::size_t>(len) : 0);
  return out;
}

std::string map_case(std::string_view s, bool upper) {
  if (is_ascii(s)) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(upper ? std::toupper(c) : std::tolower(c));
    return out;
  }
  std::u16string in = to_u16(s);
  std::u16string out(in.size() * 3 + 4, u'\0');
  UErrorCode status = U_ZERO_ERROR;
  auto fn = upper ? u_strToUpper : u_strToLower;
  int32_t len =
      fn(reinterpret_cast<UChar*>(out.data()), static_cast<int32_t>(out.size()),
         reinterpret_cast<const UChar*>(in.data()), static_cast<int32_t>(in.size()), "", &status);
  out.resize(U_SUCCESS(status) ? static_cast<std::size_t>(len) : 0);
  return to_u8(out);
}

bool is_cased(char32_t cp) {
  auto t = u_charType(static_cast<UChar32>(cp));
  return t == U_UPPERCASE_LETTER || t == U_LOWERCASE_LETTER || t == U_TITLECASE_LETTER;
}

std::string cp_str(char32_t cp) {
  std::string s;
  cp_append(s, cp);
  return s;
}

}  // namespace

std::string py_upper(std::string_view s) { return map_case(s, true); }
std::string py_lower(std::string_view s) { return map_case(s, false); }

std::string py_capitalize(std::string_view s) {
  if (s.empty()) return "";
  std::size_t pos = 0;
  char32_t first = cp_decode(s, pos);
  std::string out;
  cp_append(out, static_cast<char32_t>(u_totitle(static_cast<UChar32>(first))));
  return out + py_lower(s.substr(pos));
}

std::string py_title(std::string_view s) {
  std::string out;
  bool prev_cased = false;
  for (std::size_t pos = 0; pos < s.size();) {
    char32_t cp = cp_decode(s, pos);
    if (is_cased(cp)) {
      out += prev_cased ? py_lower(cp_str(cp)) : cp_str(static_cast<char32_t>(u_totitle(cp)));
      prev_cased = true;
    } else {
      cp_append(out, cp);
      prev_cased = false;
    }
  }
  return out;
}

std::string py_swapcase(std::string_view s) {
  std::string out;
  for (std::size_t pos = 0; pos < s.size();) {
    char32_t cp = cp_decode(s, pos);
    if (u_isULowercase(cp)) {
      out += py_upper(cp_str(cp));
    } else if (u_isUUppercase(cp)) {
      out += py_lower(cp_str(cp));
    } else {
      cp_append(out, cp);
    }
  }
  return out;
}

static bool case_test(std::string_view s, bool want_lower) {
  bool any_cased = false;
  for (std::size_t pos = 0; pos < s.size();) {
    char32_t cp = cp_decode(s, pos);
    auto t = u_charType(static_cast<UChar32>(cp));
    if (t == U_TITLECASE_LETTER) return false;
    if (t == U_UPPERCASE_LETTER) {
      if (want_lower) return false;
      any_cased = true;
    } else if (t == U_LOWERCASE_LETTER) {
      if (!want_lower) return false;
      any_cased = true;
    }
  }
  return any_cased;
}

bool py_islower(std::string_view s) { return case_test(s, true); }
bool py_isupper(std::string_view s) { return case_test(s, false); }

std::string py_strip(std::string_view s, const std::string* chars, StripSide side) {
  std::vector<char32_t> set;
  if (chars) {
    for (std::size_t pos = 0; pos < chars->size();) set.push_back(cp_decode(*chars, pos));
  }
  auto strip_it = [&](char32_t cp) {
    return chars ? std::find(set.begin(), set.end(), cp) != set.end() : py_isspace(cp);
  };
  std::vector<std::size_t> offsets = cp_offsets(s);
  std::size_t n = offsets.size() - 1;
  std::size_t a = 0, b = n;
  auto cp_at = [&](std::size_t i) {
    std::size_t p = offsets[i];
    return cp_decode(s, p);
  };
  if (side != StripSide::kRight) {
    while (a < b && strip_it(cp_at(a))) ++a;
  }
  if (side != StripSide::kLeft) {
    while (b > a && strip_it(cp_at(b - 1))) --b;
  }
  return std::string(s.substr(offsets[a], offsets[b] - offsets[a]));
}

std::vector<std::string> py_split(std::string_view s, const std::string* sep, std::int64_t maxsplit,
                                  bool from_right) {
  std::vector<std::string> out;
  if (maxsplit < 0) maxsplit = INT64_MAX;
  if (sep) {
    std::int64_t splits = 0;
    if (!from_right) {
      std::size_t start = 0;
      while (splits < maxsplit) {
        std::size_t p = s.find(*sep, start);
        if (p == std::string_view::npos) break;
        out.emplace_back(s.substr(start, p - start));
        start = p + sep->size();
        ++splits;
      }
      out.emplace_back(s.substr(start));
    } else {
      std::size_t end = s.size();
      while (splits < maxsplit && end >= sep->size()) {
        std::size_t p = s.rfind(*sep, end - sep->size());
        if (p == std::string_view::npos) break;
        out.emplace_back(s.substr(p + sep->size(), end - p - sep->size()));
        end = p;
        ++splits;
      }
      out.emplace_back(s.substr(0, end));
      std::reverse(out.begin(), out.end());
    }
    return out;
  }
  // Whitespace runs: words as code-point ranges, then the remainder joins
  // once maxsplit is reached (with its leading or trailing space stripped).
  std::vector<std::pair<std::size_t, std::size_t>> words;
  std::vector<std::size_t> offsets = cp_offsets(s);
  std::size_t n = offsets.size() - 1;
  auto space_at = [&](std::size_t i) {
    std::size_t p = offsets[i];
    return py_isspace(cp_decode(s, p));
  };
  for (std::size_t i = 0; i < n;) {
    while (i < n && space_at(i)) ++i;
    if (i >= n) break;
    std::size_t j = i;
    while (j < n && !space_at(j)) ++j;
    words.emplace_back(i, j);
    i = j;
  }
  auto text = [&](std::size_t a, std::size_t b) {
    return std::string(s.substr(offsets[a], offsets[b] - offsets[a]));
  };
  if (static_cast<std::int64_t>(words.size()) <= maxsplit || words.empty()) {
    for (auto [a, b] : words) out.push_back(text(a, b));
    return out;
  }
  if (!from_right) {
    for (std::int64_t k = 0; k < maxsplit; ++k)
      out.push_back(text(words[k].first, words[k].second));
    out.push_back(text(words[maxsplit].first, n));
  } else {
    std::size_t first = words.size() - static_cast<std::size_t>(maxsplit);
    out.push_back(text(0, words[first - 1].second));
    for (std::size_t k = first; k < words.size(); ++k) {
      out.push_back(text(words[k].first, words[k].second));
    }
  }
  return out;
}

std::vector<std::string> py_splitlines(std::string_view s, bool keepends) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t pos = 0; pos < s.size();) {
    std::size_t at = pos;
    char32_t cp = cp_decode(s, pos);
    bool brk = cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f' || cp == 0x1C || cp == 0x1D ||
               cp == 0x1E || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
    if (!brk) continue;
    if (cp == '\r' && pos < s.size() && s[pos] == '\n') ++pos;
    out.emplace_back(s.substr(start, (keepends ? pos : at) - start));
    start = pos;
  }
  if (start < s.size()) out.emplace_back(s.substr(start));
  return out;
}

std::string py_replace(std::string_view s, std::string_view old, std::string_view repl,
                       std::int64_t count) {
  if (count < 0) count = INT64_MAX;
  std::string out;
  if (old.empty()) {
    std::int64_t done = 0;
    std::size_t pos = 0;
    while (pos < s.size()) {
      if (done < count) {
        out += repl;
        ++done;
      }
      std::size_t at = pos;
      cp_decode(s, pos);
      out.append(s.substr(at, pos - at));
    }
    if (done < count) out += repl;
    return out;
  }
  std::size_t start = 0;
  for (std::int64_t done = 0; done < count; ++done) {
    std::size_t p = s.find(old, start);
    if (p == std::string_view::npos) break;
    out.append(s.substr(start, p - start));
    out.append(repl);
    start = p + old.size();
  }
  out.append(s.substr(start));
  return out;
}

std::int64_t py_count(std::string_view s, std::string_view sub) {
  if (sub.empty()) return static_cast<std::int64_t>(cp_length(s)) + 1;
  std::int64_t n = 0;
  for (std::size_t p = s.find(sub); p != std::string_view::npos; p = s.find(sub, p + sub.size())) {
    ++n;
  }
  return n;
}

std::int64_t py_find(std::string_view s, std::string_view sub, bool from_right) {
  std::size_t p = from_right ? s.rfind(sub) : s.find(sub);
  if (p == std::string_view::npos) return -1;
  return static_cast<std::int64_t>(cp_length(s.substr(0, p)));
}

std::string py_pad(std::string_view s, std::int64_t width, std::string_view fill, char align) {
  std::int64_t len = static_cast<std::int64_t>(cp_length(s));
  if (width <= len) return std::string(s);
  std::int64_t marg = width - len;
  std::int64_t left = 0;
  if (align == '^') {
    // CPython's str.center: left = marg / 2 + (marg & width & 1).
    left = marg / 2 + (marg & width & 1);
  } else if (align == '>') {
    left = marg;
  }
  std::string out;
  for (std::int64_t k = 0; k < left; ++k) out += fill;
  out += s;
  for (std::int64_t k = 0; k < marg - left; ++k) out += fill;
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace enclave::jinja
