// The layout and escaping of CPython's json encoder: separators, indent per
// level, ensure_ascii (\uXXXX with surrogate pairs), floats as float.__repr__
// (NaN, Infinity), dict keys converted from int/float/bool/None.
#include "jinja/json_dumps.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace enclave::jinja {

static void json_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out += '"';
  for (std::size_t pos = 0; pos < s.size();) {
    std::size_t start = pos;
    char32_t cp = cp_decode(s, pos);
    char buf[16];
    switch (cp) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      default:
        break;
    }
    if (cp < 0x20 || (ensure_ascii && cp >= 0x7F)) {
      if (cp >= 0x10000) {
        char32_t v = cp - 0x10000;
        std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 | (v >> 10)),
                      static_cast<unsigned>(0xDC00 | (v & 0x3FF)));
      } else {
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
      }
      out += buf;
    } else {
      out.append(s, start, pos - start);
    }
  }
  out += '"';
}

static bool json_key(const Value& k, std::string* key) {
  switch (k.kind()) {
    case Kind::kString:
      *key = k.str();
      return true;
    case Kind::kBool:
      *key = k.as_bool() ? "true" : "false";
      return true;
    case Kind::kNone:
      *key = "null";
      return true;
    case Kind::kInt:
      *key = std::to_string(k.as_int());
      return true;
    case Kind::kFloat:
      *key = float_repr(k.as_double());
      return true;
    default:
      return false;
  }
}

static bool json_value(std::string& out, const Value& v, const JsonFormat& f, int level,
                       std::string* error) {
  auto newline = [&](int lvl) {
    out += '\n';
    for (int k = 0; k < lvl; ++k) out += f.indent;
  };
  switch (v.kind()) {
    case Kind::kNone:
      out += "null";
      return true;
    case Kind::kBool:
      out += v.as_bool() ? "true" : "false";
      return true;
    case Kind::kInt:
      out += std::to_string(v.as_int());
      return true;
    case Kind::kFloat: {
      double f = v.as_double();
      if (std::isnan(f)) {
        out += "NaN";
      } else if (std::isinf(f)) {
        out += f < 0 ? "-Infinity" : "Infinity";
      } else {
        out += float_repr(f);
      }
      return true;
    }
    case Kind::kString:
      json_string(out, v.str(), f.ensure_ascii);
      return true;
    case Kind::kList: {
      const List& items = v.items();
      if (items.empty()) {
        out += "[]";
        return true;
      }
      out += '[';
      for (std::size_t k = 0; k < items.size(); ++k) {
        if (k) out += f.item_separator;
        if (f.pretty) newline(level + 1);
        if (!json_value(out, items[k], f, level + 1, error)) return false;
      }
      if (f.pretty) newline(level);
      out += ']';
      return true;
    }
    case Kind::kDict: {
      const Dict& d = v.dict();
      if (d.items.empty()) {
        out += "{}";
        return true;
      }
      std::vector<std::pair<std::string, const Value*>> entries;
      entries.reserve(d.items.size());
      for (const auto& [k, e] : d.items) {
        std::string key;
        if (!json_key(k, &key)) {
          *error = "keys must be str, int, float, bool or None, not " + type_name(k);
          return false;
        }
        entries.emplace_back(std::move(key), &e);
      }
      if (f.sort_keys) {
        std::stable_sort(entries.begin(), entries.end(),
                         [](const auto& x, const auto& y) { return x.first < y.first; });
      }
      out += '{';
      for (std::size_t k = 0; k < entries.size(); ++k) {
        if (k) out += f.item_separator;
        if (f.pretty) newline(level + 1);
        json_string(out, entries[k].first, f.ensure_ascii);
        out += f.key_separator;
        if (!json_value(out, *entries[k].second, f, level + 1, error)) return false;
      }
      if (f.pretty) newline(level);
      out += '}';
      return true;
    }
    default:
      *error = "Object of type " + type_name(v) + " is not JSON serializable";
      return false;
  }
}

std::string json_dumps(const Value& v, const JsonFormat& format, std::string* error) {
  std::string out;
  if (!json_value(out, v, format, 0, error)) return "";
  return out;
}

JsonFormat JsonFormat::python(bool ensure_ascii, bool sort_keys, const std::string* indent) {
  JsonFormat f;
  f.ensure_ascii = ensure_ascii;
  f.sort_keys = sort_keys;
  if (indent) {
    f.pretty = true;
    f.indent = *indent;
    f.item_separator = ",";
  }
  return f;
}

}  // namespace enclave::jinja
