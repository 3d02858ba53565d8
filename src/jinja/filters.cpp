// jinja2's built-in filters (jinja2/filters.py, version 3.1): the registry
// (find_filter) and the string, number and markup filters, each with
// jinja2's parameter names and defaults so keyword calls bind as they do in
// Python; the sequence filters are in sequence_filters.cpp. `tojson` is
// jinja2's (sorted keys, HTML characters escaped) unless transformers'
// globals are on, when it is transformers' json.dumps(ensure_ascii=False,
// indent, separators, sort_keys).
#include <re2/re2.h>
#include <unicode/uchar.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>

#include "core/error.h"
#include "jinja/builtins.h"
#include "jinja/filters_internal.h"
#include "jinja/json_dumps.h"
#include "jinja/pystr.h"
#include "jinja/renderer.h"

namespace enclave::jinja {
namespace {

// jinja2's soft_str keeps a Markup a Markup through str methods.
Value like(const Value& v, std::string s) {
  return v.is_markup() ? Value::markup(std::move(s)) : Value::string(std::move(s));
}

Value f_abs(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "abs", {});
  if (v.kind() == Kind::kFloat) return Value::floating(std::fabs(v.as_double()));
  if (v.is_integral()) {
    if (v.as_int() == INT64_MIN) r.fail("integer overflow");
    return Value::integer(std::llabs(v.as_int()));
  }
  r.fail("bad operand type for abs(): '" + type_name(v) + "'");
}

Value f_attr(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "attr", {{"name", Value()}});
  r.check_defined(v, true);
  return get_attr(r, v, py_str(p[0]));
}

Value f_capitalize(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "capitalize", {});
  return like(v, py_capitalize(text_of(r, v)));
}

Value f_center(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "center", {{"width", Value::integer(80)}});
  if (!p[0].is_integral()) r.fail("center() width must be an integer");
  return like(v, py_pad(text_of(r, v), p[0].as_int(), " ", '^'));
}

Value f_default(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "default",
           {{"default_value", Value::string("")}, {"boolean", Value::boolean(false)}});
  if (v.is_undefined() || (p[1].truthy() && !v.truthy())) return p[0];
  return v;
}

Value f_escape(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "escape", {});
  if (v.is_markup()) return v;
  return Value::markup(html_escape(v.is_undefined() ? "" : text_of(r, v)));
}

Value f_forceescape(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "forceescape", {});
  return Value::markup(html_escape(v.is_undefined() ? "" : text_of(r, v)));
}

// Python float(str): whitespace around, an optional sign, digits, "inf"/"nan".
bool parse_float(std::string s, double* out) {
  s = py_strip(s, nullptr, StripSide::kBoth);
  std::string clean;
  for (std::size_t k = 0; k < s.size(); ++k) {
    if (s[k] == '_' && k > 0 && k + 1 < s.size() &&
        std::isdigit(static_cast<unsigned char>(s[k - 1])) &&
        std::isdigit(static_cast<unsigned char>(s[k + 1]))) {
      continue;
    }
    clean += s[k];
  }
  if (clean.empty() || clean.find_first_of("xXpP") != std::string::npos) return false;
  char* end = nullptr;
  *out = std::strtod(clean.c_str(), &end);
  return end == clean.c_str() + clean.size();
}

Value f_float(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "float", {{"default", Value::floating(0.0)}});
  if (v.is_number()) return Value::floating(v.as_double());
  double f;
  if (v.is_string() && parse_float(v.str(), &f)) return Value::floating(f);
  return p[0];
}

Value f_int(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "int", {{"default", Value::integer(0)}, {"base", Value::integer(10)}});
  if (v.is_integral()) return Value::integer(v.as_int());
  if (v.kind() == Kind::kFloat) {
    double f = v.as_double();
    if (!std::isfinite(f)) return p[0];
    return Value::integer(static_cast<std::int64_t>(f));
  }
  if (v.is_string()) {
    std::string s = py_strip(v.str(), nullptr, StripSide::kBoth);
    std::string clean;
    for (char c : s) {
      if (c != '_') clean += c;
    }
    int base = p[1].is_integral() ? static_cast<int>(p[1].as_int()) : 10;
    if (!clean.empty()) {
      char* end = nullptr;
      errno = 0;
      long long n = std::strtoll(clean.c_str(), &end, base);
      if (errno == 0 && end == clean.c_str() + clean.size()) return Value::integer(n);
    }
    double f;
    if (parse_float(v.str(), &f) && std::isfinite(f))
      return Value::integer(static_cast<std::int64_t>(f));
  }
  return p[0];
}

Value f_indent(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "indent",
           {{"width", Value::integer(4)},
            {"first", Value::boolean(false)},
            {"blank", Value::boolean(false)}});
  std::string indention =
      p[0].is_string()
          ? p[0].str()
          : std::string(static_cast<std::size_t>(std::max<std::int64_t>(0, p[0].as_int())), ' ');
  // jinja2 appends a newline to the value itself, which only a str takes.
  if (!v.is_string()) r.fail("indent() needs a string, not " + type_name(v));
  std::string s = v.str() + "\n";
  std::vector<std::string> lines = py_splitlines(s, false);
  std::string out;
  if (p[2].truthy()) {
    for (std::size_t k = 0; k < lines.size(); ++k) {
      if (k) out += "\n" + indention;
      out += lines[k];
    }
  } else {
    out = lines.empty() ? "" : lines[0];
    for (std::size_t k = 1; k < lines.size(); ++k) {
      out += "\n";
      if (!lines[k].empty()) out += indention;
      out += lines[k];
    }
  }
  if (p[1].truthy()) out = indention + out;
  return Value::string(std::move(out));
}

Value f_lower(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "lower", {});
  return like(v, py_lower(text_of(r, v)));
}

Value f_upper(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "upper", {});
  return like(v, py_upper(text_of(r, v)));
}

Value f_replace(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "replace", {{"old", Value()}, {"new", Value()}, {"count", Value::none()}});
  std::int64_t count = p[2].is_none() ? -1 : p[2].as_int();
  return Value::string(py_replace(text_of(r, v), text_of(r, p[0]), text_of(r, p[1]), count));
}

// Python's round(x, n): correctly rounded half-to-even on the decimal
// expansion of the binary value (what "%.*f" formatting gives).
double py_round(double x, std::int64_t ndigits) {
  if (!std::isfinite(x)) return x;
  if (ndigits > 300) return x;
  if (ndigits < -308) return 0.0 * x;
  char buf[512];
  if (ndigits >= 0) {
    std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(ndigits), x);
    return std::strtod(buf, nullptr);
  }
  double pow10 = std::pow(10.0, static_cast<double>(-ndigits));
  double y = x / pow10;
  double z = std::nearbyint(y);
  return z * pow10;
}

Value f_round(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "round",
           {{"precision", Value::integer(0)}, {"method", Value::string("common")}});
  std::string method = py_str(p[1]);
  if (method != "common" && method != "ceil" && method != "floor") {
    r.fail("method must be common, ceil or floor");
  }
  if (!v.is_number()) r.fail("type " + type_name(v) + " doesn't define __round__ method");
  std::int64_t prec = p[0].is_integral() ? p[0].as_int() : 0;
  if (method == "common") {
    if (v.is_integral()) {
      if (prec >= 0) return Value::integer(v.as_int());
      // Python's int.__round__: to a multiple of 10**-prec, ties to even.
      if (prec < -18) return Value::integer(0);
      std::int64_t unit = 1;
      for (std::int64_t k = 0; k < -prec; ++k) unit *= 10;
      std::int64_t x = v.as_int();
      std::int64_t q = x / unit, rem = x % unit;
      if (rem < 0) {
        rem += unit;
        --q;
      }
      if (2 * rem > unit || (2 * rem == unit && (q % 2 != 0))) ++q;
      return Value::integer(q * unit);
    }
    return Value::floating(py_round(v.as_double(), prec));
  }
  double scale = std::pow(10.0, static_cast<double>(prec));
  double x = v.as_double() * scale;
  return Value::floating((method == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
}

Value f_truncate(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "truncate",
           {{"length", Value::integer(255)},
            {"killwords", Value::boolean(false)},
            {"end", Value::string("...")},
            {"leeway", Value::none()}});
  std::string s = text_of(r, v);
  std::string end = text_of(r, p[2]);
  if (!p[0].is_integral()) r.fail("truncate() length must be an integer");
  std::int64_t length = p[0].as_int();
  std::int64_t leeway = p[3].is_none() ? 5 : p[3].as_int();
  auto end_len = static_cast<std::int64_t>(cp_length(end));
  if (length < end_len) r.fail(fmt::format("expected length >= {}, got {}", end_len, length));
  if (leeway < 0) r.fail(fmt::format("expected leeway >= 0, got {}", leeway));
  std::vector<std::size_t> offsets = cp_offsets(s);
  if (static_cast<std::int64_t>(offsets.size() - 1) <= length + leeway) return Value::string(s);
  std::string head = s.substr(0, offsets[static_cast<std::size_t>(length - end_len)]);
  if (!p[1].truthy()) {
    std::size_t space = head.rfind(' ');
    if (space != std::string::npos) head.resize(space);
  }
  return Value::string(head + end);
}

// Python's \w, \d and \s match Unicode word characters, decimal digits and
// str.isspace() whitespace; RE2's match ASCII only, so they are rewritten
// into Unicode classes (inside a [...] too, except the negated \W \D \S
// there, which keep RE2's ASCII meaning).
std::string python_classes_for_re2(const std::string& pattern) {
  static const std::string kWord = R"(\p{L}\p{N}_)";
  static const std::string kDigit = R"(\p{Nd})";
  static const std::string kSpace =
      R"(\t\n\x{0b}\f\r\x{1c}-\x{1f} \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000})";
  std::string out;
  bool in_class = false;
  for (std::size_t k = 0; k < pattern.size(); ++k) {
    char c = pattern[k];
    if (c == '\\' && k + 1 < pattern.size()) {
      char e = pattern[++k];
      const std::string* cls = e == 'w' || e == 'W'   ? &kWord
                               : e == 'd' || e == 'D' ? &kDigit
                               : e == 's' || e == 'S' ? &kSpace
                                                      : nullptr;
      bool negated = e == 'W' || e == 'D' || e == 'S';
      if (!cls || (in_class && negated)) {
        out += '\\';
        out += e;
      } else if (in_class) {
        out += *cls;
      } else {
        out += (negated ? "[^" : "[") + *cls + "]";
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      // A `]` right after `[` or `[^` is a literal member.
      if (k + 1 < pattern.size() && pattern[k + 1] == '^') out += pattern[++k];
      if (k + 1 < pattern.size() && pattern[k + 1] == ']') out += pattern[++k];
      continue;
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

// re.sub(pattern, repl, string, count): repl's \1, \g<1>, \g<name> and
// escapes as Python expands them; an empty match right after an empty match
// at the same place is skipped, as Python 3.7+ does (Python would then try
// a non-empty match there first, which differs only for lazy patterns that
// can match empty, like `a*?`).
Value f_regex_replace(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "regex_replace",
           {{"pattern", Value()}, {"repl", Value()}, {"count", Value::integer(0)}});
  std::string s = text_of(r, v);
  RE2 re(python_classes_for_re2(text_of(r, p[0])), RE2::Quiet);
  if (!re.ok()) r.fail("regex_replace: bad pattern: " + re.error());
  std::string repl = text_of(r, p[1]);
  int n_groups = re.NumberOfCapturingGroups();
  // The template as literal pieces and group numbers (-1: literal).
  std::vector<std::pair<int, std::string>> pieces;
  std::string lit;
  auto group = [&](int g) {
    if (g > n_groups) r.fail(fmt::format("regex_replace: invalid group reference {}", g));
    pieces.emplace_back(-1, lit);
    lit.clear();
    pieces.emplace_back(g, "");
  };
  for (std::size_t k = 0; k < repl.size(); ++k) {
    if (repl[k] != '\\' || k + 1 == repl.size()) {
      lit += repl[k];
      continue;
    }
    char c = repl[++k];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      int g = c - '0';
      if (k + 1 < repl.size() && std::isdigit(static_cast<unsigned char>(repl[k + 1])))
        g = g * 10 + (repl[++k] - '0');
      group(g);
    } else if (c == 'g' && k + 1 < repl.size() && repl[k + 1] == '<') {
      std::size_t close = repl.find('>', k);
      if (close == std::string::npos) r.fail("regex_replace: missing >, unterminated name");
      std::string name = repl.substr(k + 2, close - k - 2);
      if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) {
        group(static_cast<int>(parse_digits(name, 1000)));
      } else {
        auto it = re.NamedCapturingGroups().find(name);
        if (it == re.NamedCapturingGroups().end())
          r.fail("regex_replace: unknown group name '" + name + "'");
        group(it->second);
      }
      k = close;
    } else {
      const char* esc = std::strchr("nrtfvab\\", c);
      if (esc) {
        lit += "\n\r\t\f\v\a\b\\"[esc - "nrtfvab\\"];
      } else if (std::isalpha(static_cast<unsigned char>(c))) {
        r.fail(fmt::format("regex_replace: bad escape \\{}", c));
      } else {
        lit += '\\';
        lit += c;
      }
    }
  }
  pieces.emplace_back(-1, lit);
  std::int64_t count = p[2].is_integral() ? p[2].as_int() : 0;
  std::vector<re2::StringPiece> groups(static_cast<std::size_t>(n_groups) + 1);
  std::string out;
  std::size_t pos = 0, copied = 0;
  std::int64_t done = 0;
  bool last_empty = false;
  std::size_t last_end = std::string::npos;
  while (pos <= s.size() && (count <= 0 || done < count)) {
    if (!re.Match(s, pos, s.size(), RE2::UNANCHORED, groups.data(), n_groups + 1)) break;
    std::size_t start = static_cast<std::size_t>(groups[0].data() - s.data());
    std::size_t end = start + groups[0].size();
    if (start == end && last_empty && start == last_end) {
      if (start >= s.size()) break;
      std::size_t next = start;
      cp_decode(s, next);
      pos = next;
      last_empty = false;
      continue;
    }
    out.append(s, copied, start - copied);
    for (const auto& [g, text] : pieces) {
      if (g < 0) {
        out += text;
      } else if (groups[static_cast<std::size_t>(g)].data()) {
        out.append(groups[static_cast<std::size_t>(g)].data(),
                   groups[static_cast<std::size_t>(g)].size());
      }
    }
    copied = end;
    ++done;
    last_empty = start == end;
    last_end = end;
    pos = end;
  }
  out.append(s, copied, std::string::npos);
  return Value::string(std::move(out));
}

Value f_safe(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "safe", {});
  return Value::markup(text_of(r, v));
}

Value f_string(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "string", {});
  return like(v, text_of(r, v));
}

Value f_title(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "title", {});
  // jinja2 splits at runs of `-`, whitespace and opening brackets and
  // upper-cases each piece's first character, lower-cases the rest.
  std::string s = text_of(r, v);
  auto is_sep = [](char32_t c) {
    return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || py_isspace(c);
  };
  std::string out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t start = pos;
    std::size_t probe = pos;
    bool sep = is_sep(cp_decode(s, probe));
    while (pos < s.size()) {
      std::size_t q = pos;
      if (is_sep(cp_decode(s, q)) != sep) break;
      pos = q;
    }
    std::string piece = s.substr(start, pos - start);
    std::size_t first_end = 0;
    cp_decode(piece, first_end);
    out += py_upper(piece.substr(0, first_end)) + py_lower(piece.substr(first_end));
  }
  return Value::string(std::move(out));
}

// json.dumps's `indent`: an int is that many spaces (none below 1 but still
// newlines), a str is used as is; None is one line.
std::optional<std::string> json_indent(Renderer& r, const Value& indent) {
  if (indent.is_none() || indent.is_undefined()) return std::nullopt;
  if (indent.is_string()) return indent.str();
  if (indent.is_integral()) {
    return std::string(static_cast<std::size_t>(std::max<std::int64_t>(0, indent.as_int())), ' ');
  }
  r.fail("tojson: indent must be an integer or a string, not " + type_name(indent));
}

Value f_tojson(Renderer& r, const Value& v, Args& args) {
  std::string error;
  std::string out;
  if (r.options().transformers_globals) {
    Params p(r, args, "tojson",
             {{"ensure_ascii", Value::boolean(false)},
              {"indent", Value::none()},
              {"separators", Value::none()},
              {"sort_keys", Value::boolean(false)}});
    std::optional<std::string> indent = json_indent(r, p[1]);
    JsonFormat format =
        JsonFormat::python(p[0].truthy(), p[3].truthy(), indent ? &*indent : nullptr);
    if (!p[2].is_none()) {
      if (!p[2].is_list() || p[2].items().size() != 2 || !p[2].items()[0].is_string() ||
          !p[2].items()[1].is_string()) {
        r.fail("tojson: separators must be a pair of strings");
      }
      format.item_separator = p[2].items()[0].str();
      format.key_separator = p[2].items()[1].str();
    }
    out = json_dumps(v, format, &error);
  } else {
    // jinja2's own: sorted keys, ASCII only, and <, >, &, ' escaped.
    Params p(r, args, "tojson", {{"indent", Value::none()}});
    std::optional<std::string> indent = json_indent(r, p[0]);
    std::string dumped =
        json_dumps(v, JsonFormat::python(true, true, indent ? &*indent : nullptr), &error);
    for (char c : dumped) {
      switch (c) {
        case '<':
          out += "\\u003c";
          break;
        case '>':
          out += "\\u003e";
          break;
        case '&':
          out += "\\u0026";
          break;
        case '\'':
          out += "\\u0027";
          break;
        default:
          out += c;
      }
    }
  }
  if (!error.empty()) r.fail("tojson: " + error);
  // jinja2's own tojson returns Markup; transformers' returns a str.
  if (!r.options().transformers_globals) return Value::markup(std::move(out));
  return Value::string(std::move(out));
}

Value f_trim(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "trim", {{"chars", Value::none()}});
  std::string chars = p[0].is_none() ? "" : py_str(p[0]);
  return like(v, py_strip(text_of(r, v), p[0].is_none() ? nullptr : &chars, StripSide::kBoth));
}

Value f_wordcount(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "wordcount", {});
  std::string s = text_of(r, v);
  std::int64_t n = 0;
  bool in_word = false;
  for (std::size_t pos = 0; pos < s.size();) {
    char32_t c = cp_decode(s, pos);
    bool w = c == '_' || u_isalnum(static_cast<UChar32>(c));
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value::integer(n);
}

Value f_format(Renderer& r, const Value& v, Args& args) {
  if (!args.pos.empty() && !args.kw.empty()) {
    r.fail("can't handle positional and keyword arguments at the same time");
  }
  if (!args.kw.empty()) {
    Dict d;
    for (auto& [k, e] : args.kw) d.set(Value::string(k), e);
    return percent_format(r, text_of(r, v), Value::dict(std::move(d)));
  }
  return percent_format(r, text_of(r, v), Value::list(args.pos, true));
}

}  // namespace

std::string text_of(Renderer& r, const Value& v) {
  r.check_defined(v);
  if (v.is_string()) return v.str();
  return py_str(v);
}

FilterFn find_filter(std::string_view name) {
  static const std::map<std::string_view, FilterFn> kFilters = {
      {"abs", f_abs},
      {"attr", f_attr},
      {"batch", f_batch},
      {"capitalize", f_capitalize},
      {"center", f_center},
      {"count", f_length},
      {"d", f_default},
      {"default", f_default},
      {"dictsort", f_dictsort},
      {"e", f_escape},
      {"escape", f_escape},
      {"first", f_first},
      {"float", f_float},
      {"format", f_format},
      {"groupby", f_groupby},
      {"indent", f_indent},
      {"int", f_int},
      {"items", f_items},
      {"join", f_join},
      {"last", f_last},
      {"length", f_length},
      {"list", f_list},
      {"lower", f_lower},
      {"map", f_map},
      {"max", f_max},
      {"min", f_min},
      {"regex_replace", f_regex_replace},
      {"reject", f_reject},
      {"rejectattr", f_rejectattr},
      {"replace", f_replace},
      {"reverse", f_reverse},
      {"round", f_round},
      {"safe", f_safe},
      {"slice", f_slice},
      {"truncate", f_truncate},
      {"forceescape", f_forceescape},
      {"select", f_select},
      {"selectattr", f_selectattr},
      {"sort", f_sort},
      {"string", f_string},
      {"sum", f_sum},
      {"title", f_title},
      {"tojson", f_tojson},
      {"trim", f_trim},
      {"unique", f_unique},
      {"upper", f_upper},
      {"wordcount", f_wordcount},
  };
  auto it = kFilters.find(name);
  return it == kFilters.end() ? nullptr : it->second;
}

}  // namespace enclave::jinja
