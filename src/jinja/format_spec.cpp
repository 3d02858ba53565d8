// Python's format-spec mini-language (PEP 3101, "Format Specification
// Mini-Language") for str.format fields: [[fill]align][sign][#][0][width]
// [,|_][.precision][type] over str, int and float, with Python's defaults
// (strings align left, numbers right; a float without a type prints as
// repr, or as 'g' keeping one decimal when a precision is given).
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "jinja/builtins.h"
#include "jinja/pystr.h"
#include "jinja/renderer.h"

namespace enclave::jinja {
namespace {

struct Spec {
  std::string fill = " ";
  char align = 0;  // < > ^ =, 0 for the type's default
  char sign = '-';
  bool alternate = false;
  std::int64_t width = 0;
  char grouping = 0;
  int precision = -1;
  char type = 0;
};

Spec parse_spec(Renderer& r, std::string_view s) {
  Spec spec;
  std::size_t k = 0;
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  // A fill is any one code point followed by an align character.
  if (!s.empty()) {
    std::size_t next = 0;
    cp_decode(s, next);
    if (next < s.size() && is_align(s[next])) {
      spec.fill = std::string(s.substr(0, next));
      spec.align = s[next];
      k = next + 1;
    } else if (is_align(s[0])) {
      spec.align = s[0];
      k = 1;
    }
  }
  if (k < s.size() && (s[k] == '+' || s[k] == '-' || s[k] == ' ')) spec.sign = s[k++];
  if (k < s.size() && s[k] == '#') {
    spec.alternate = true;
    ++k;
  }
  if (k < s.size() && s[k] == '0') {
    if (!spec.align) {
      spec.fill = "0";
      spec.align = '=';
    }
    ++k;
  }
  std::size_t w = k;
  while (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) ++k;
  spec.width = parse_digits(s.substr(w, k - w));
  if (k < s.size() && (s[k] == ',' || s[k] == '_')) spec.grouping = s[k++];
  if (k < s.size() && s[k] == '.') {
    std::size_t p = ++k;
    while (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) ++k;
    if (k == p) r.fail("Format specifier missing precision");
    spec.precision = static_cast<int>(parse_digits(s.substr(p, k - p), 1000));
  }
  if (k < s.size()) spec.type = s[k++];
  if (k != s.size()) r.fail("Invalid format specifier '" + std::string(s) + "'");
  if (spec.width > (1 << 20)) r.fail("format width too large");
  return spec;
}

// Inserts `sep` every three digits of the integer part of `digits`.
std::string group_digits(const std::string& digits, char sep) {
  std::size_t int_end = digits.find_first_not_of("0123456789");
  if (int_end == std::string::npos) int_end = digits.size();
  std::string out;
  for (std::size_t k = 0; k < int_end; ++k) {
    if (k && (int_end - k) % 3 == 0) out += sep;
    out += digits[k];
  }
  return out + digits.substr(int_end);
}

std::string pad(const Spec& spec, const std::string& sign, const std::string& body,
                char def_align) {
  char align = spec.align ? spec.align : def_align;
  auto len = static_cast<std::int64_t>(cp_length(sign) + cp_length(body));
  std::int64_t missing = std::max<std::int64_t>(0, spec.width - len);
  auto fill = [&](std::int64_t n) {
    std::string s;
    for (std::int64_t k = 0; k < n; ++k) s += spec.fill;
    return s;
  };
  switch (align) {
    case '<':
      return sign + body + fill(missing);
    case '^':
      return fill(missing / 2) + sign + body + fill(missing - missing / 2);
    case '=':
      return sign + fill(missing) + body;
    default:
      return fill(missing) + sign + body;
  }
}

std::string format_float(double x, const Spec& spec, char type) {
  std::string body;
  if (std::isnan(x) || std::isinf(x)) {
    body = std::isnan(x) ? "nan" : "inf";
    if (std::isupper(static_cast<unsigned char>(type))) body = py_upper(body);
    return body;
  }
  int precision = spec.precision < 0 ? 6 : spec.precision;
  char buf[1500];
  switch (type) {
    case 'f':
    case 'F':
    case 'e':
    case 'E':
      std::snprintf(buf, sizeof buf, "%.*f", precision, x);
      if (type == 'e' || type == 'E')
        std::snprintf(buf, sizeof buf, type == 'e' ? "%.*e" : "%.*E", precision, x);
      body = buf;
      break;
    case '%':
      std::snprintf(buf, sizeof buf, "%.*f", precision, x * 100);
      body = std::string(buf) + "%";
      break;
    case 'g':
    case 'G':
      std::snprintf(buf, sizeof buf, type == 'g' ? "%#.*g" : "%#.*G",
                    precision == 0 ? 1 : precision, x);
      body = buf;
      if (!spec.alternate) {
        // %g without '#': trailing zeros and a bare point go.
        std::size_t e = body.find_first_of("eE");
        std::string mant = body.substr(0, e), rest = e == std::string::npos ? "" : body.substr(e);
        if (mant.find('.') != std::string::npos) {
          while (mant.back() == '0') mant.pop_back();
          if (mant.back() == '.') mant.pop_back();
        }
        body = mant + rest;
      }
      break;
    default:  // no type: repr, or 'g' with at least one decimal when a precision is given
      if (spec.precision < 0) {
        body = float_repr(x);
      } else {
        std::snprintf(buf, sizeof buf, "%.*g", precision == 0 ? 1 : precision, x);
        body = buf;
        if (body.find_first_of(".eEn") == std::string::npos) body += ".0";
      }
  }
  if (!body.empty() && body[0] == '-') body.erase(0, 1);
  return body;
}

}  // namespace

std::string apply_format_spec(Renderer& r, const Value& v, std::string_view text) {
  Spec spec = parse_spec(r, text);
  if (v.is_string() || !v.is_number()) {
    if (v.is_string() || text.empty()) {
      if (spec.sign != '-' || spec.align == '=' || (spec.type && spec.type != 's')) {
        r.fail("Invalid format specifier for object of type '" + type_name(v) + "'");
      }
      std::string s = py_str(v);
      if (spec.precision >= 0) {
        std::vector<std::size_t> offs = cp_offsets(s);
        if (static_cast<std::size_t>(spec.precision) < offs.size() - 1)
          s.resize(offs[static_cast<std::size_t>(spec.precision)]);
      }
      return pad(spec, "", s, '<');
    }
    r.fail("unsupported format string passed to " + type_name(v) + ".__format__");
  }
  char type = spec.type;
  bool integral = v.is_integral();
  if (v.kind() == Kind::kBool && text.empty()) return py_str(v);
  std::string body;
  bool negative;
  if (integral && (type == 0 || type == 'd' || type == 'n' || type == 'b' || type == 'o' ||
                   type == 'x' || type == 'X' || type == 'c')) {
    if (spec.precision >= 0) r.fail("Precision not allowed in integer format specifier");
    std::int64_t i = v.as_int();
    negative = i < 0;
    unsigned long long mag =
        negative ? 0ULL - static_cast<unsigned long long>(i) : static_cast<unsigned long long>(i);
    if (type == 'c')
      return pad(
          spec, "",
          [&] {
            std::string s;
            cp_append(s, static_cast<char32_t>(mag));
            return s;
          }(),
          '<');
    int base = type == 'b' ? 2 : type == 'o' ? 8 : (type == 'x' || type == 'X') ? 16 : 10;
    if (mag == 0) body = "0";
    while (mag) {
      body.insert(body.begin(), "0123456789abcdef"[mag % static_cast<unsigned>(base)]);
      mag /= static_cast<unsigned>(base);
    }
    if (type == 'X') body = py_upper(body);
    if (spec.grouping) body = group_digits(body, spec.grouping);
    if (spec.alternate && base != 10)
      body = std::string(base == 2 ? "0b" : base == 8 ? "0o" : type == 'X' ? "0X" : "0x") + body;
  } else {
    if (integral && type == 0) type = 'd';
    if (std::string_view("eEfFgG%").find(type ? type : 'f') == std::string_view::npos &&
        type != 0) {
      r.fail(fmt::format("Unknown format code '{}' for object of type '{}'", type, type_name(v)));
    }
    double x = v.as_double();
    negative = std::signbit(x) && !std::isnan(x);
    body = format_float(x, spec, type);
    if (spec.grouping) body = group_digits(body, spec.grouping);
  }
  std::string sign = negative ? "-" : spec.sign == '+' ? "+" : spec.sign == ' ' ? " " : "";
  return pad(spec, sign, body, '>');
}

}  // namespace enclave::jinja
