// jinja/pystr: Python's str operations on UTF-8 text, counted in code
// points and with Python's Unicode rules (full case mapping, str.isspace
// whitespace), for the filters and string methods templates call.
// Thread safety: stateless functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace enclave::jinja {

std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_capitalize(std::string_view s);  // str.capitalize()
std::string py_title(std::string_view s);       // str.title()
std::string py_swapcase(std::string_view s);
bool py_islower(std::string_view s);
bool py_isupper(std::string_view s);

enum class StripSide { kBoth, kLeft, kRight };
// str.strip(chars): whitespace when `chars` is null.
std::string py_strip(std::string_view s, const std::string* chars, StripSide side);
// str.split(sep, maxsplit) / str.rsplit: runs of whitespace when sep is null.
std::vector<std::string> py_split(std::string_view s, const std::string* sep, std::int64_t maxsplit,
                                  bool from_right);
std::vector<std::string> py_splitlines(std::string_view s, bool keepends);
// str.replace(old, new, count); count < 0 replaces all.
std::string py_replace(std::string_view s, std::string_view old, std::string_view repl,
                       std::int64_t count);
// str.count(sub) in code points' sense (non-overlapping).
std::int64_t py_count(std::string_view s, std::string_view sub);
// str.find(sub): code point index or -1; rfind when from_right.
std::int64_t py_find(std::string_view s, std::string_view sub, bool from_right);
// str.center/ljust/rjust(width, fill).
std::string py_pad(std::string_view s, std::int64_t width, std::string_view fill, char align);

// markupsafe.escape: & < > " ' as entities.
std::string html_escape(std::string_view s);

}  // namespace enclave::jinja
