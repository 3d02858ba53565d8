// Attribute and item lookup, Python's methods, and the global functions.
// The sandbox is jinja2's ImmutableSandboxedEnvironment: list and dict
// methods that modify (append, update, pop, ...) are found but refused when
// called, as jinja2 returns an "unsafe" Undefined for them.
#include <unicode/uchar.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "core/error.h"
#include "jinja/builtins.h"
#include "jinja/loop.h"
#include "jinja/pystr.h"
#include "jinja/renderer.h"

namespace enclave::jinja {
namespace {

constexpr const char* kStrMethods[] = {
    "strip",    "lstrip",    "rstrip",    "split",   "rsplit",     "splitlines",   "startswith",
    "endswith", "upper",     "lower",     "title",   "capitalize", "swapcase",     "replace",
    "find",     "rfind",     "index",     "rindex",  "count",      "join",         "format",
    "isdigit",  "isnumeric", "isdecimal", "isalpha", "isalnum",    "isspace",      "islower",
    "isupper",  "center",    "ljust",     "rjust",   "zfill",      "removeprefix", "removesuffix"};
constexpr const char* kDictMethods[] = {"items", "keys", "values", "get", "copy"};
constexpr const char* kDictUnsafe[] = {"update", "pop", "popitem", "clear", "setdefault"};
constexpr const char* kListMethods[] = {"index", "count", "copy"};
constexpr const char* kListUnsafe[] = {"append", "extend", "insert", "pop",
                                       "remove", "clear",  "sort",   "reverse"};

template <std::size_t N>
bool in(const char* const (&names)[N], const std::string& name) {
  return std::any_of(std::begin(names), std::end(names), [&](const char* n) { return name == n; });
}

// By value: callers pass temporaries as the fallback.
Value arg(Args& args, std::size_t k, const char* key, const Value& fallback) {
  if (k < args.pos.size()) return args.pos[k];
  for (const auto& [name, v] : args.kw) {
    if (name == key) return v;
  }
  return fallback;
}

const std::string& str_arg(Renderer& r, const Value& v, const char* what) {
  if (!v.is_string()) r.fail(std::string(what) + " must be str, not " + type_name(v));
  return v.str();
}

std::int64_t int_arg(Renderer& r, const Value& v, const char* what) {
  if (!v.is_integral()) r.fail(std::string(what) + " must be an integer, not " + type_name(v));
  return v.as_int();
}

Value str_list(std::vector<std::string> parts) {
  List items;
  items.reserve(parts.size());
  for (auto& p : parts) items.push_back(Value::string(std::move(p)));
  return Value::list(std::move(items));
}

bool all_cps(const std::string& s, bool (*pred)(char32_t)) {
  if (s.empty()) return false;
  for (std::size_t pos = 0; pos < s.size();) {
    if (!pred(cp_decode(s, pos))) return false;
  }
  return true;
}

Value str_format(Renderer& r, const std::string& fmt, Args& args) {
  std::string out;
  std::size_t auto_index = 0;
  for (std::size_t k = 0; k < fmt.size(); ++k) {
    char c = fmt[k];
    if (c == '}') {
      if (k + 1 < fmt.size() && fmt[k + 1] == '}') ++k;
      out += '}';
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (k + 1 < fmt.size() && fmt[k + 1] == '{') {
      out += '{';
      ++k;
      continue;
    }
    std::size_t end = fmt.find('}', k);
    if (end == std::string::npos) r.fail("Single '{' encountered in format string");
    std::string field = fmt.substr(k + 1, end - k - 1);
    // {name!conversion:spec}
    std::string spec, conversion;
    std::size_t colon = field.find(':');
    if (colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field.resize(colon);
    }
    std::size_t bang = field.find('!');
    if (bang != std::string::npos) {
      conversion = field.substr(bang + 1);
      field.resize(bang);
      if (conversion != "r" && conversion != "s" && conversion != "a") {
        r.fail("Unknown conversion specifier " + conversion);
      }
    }
    if (field.find_first_of(".[") != std::string::npos) {
      r.fail("attribute and index lookups in str.format fields are not supported: {" + field + "}");
    }
    const Value* v = nullptr;
    if (field.empty()) {
      if (auto_index >= args.pos.size()) r.fail("Replacement index out of range");
      v = &args.pos[auto_index++];
    } else if (std::all_of(field.begin(), field.end(), ::isdigit)) {
      auto i = static_cast<std::size_t>(parse_digits(field));
      if (i >= args.pos.size()) r.fail("Replacement index " + field + " out of range");
      v = &args.pos[i];
    } else {
      for (const auto& [name, value] : args.kw) {
        if (name == field) v = &value;
      }
      if (!v) r.fail("KeyError: '" + field + "'");
    }
    Value converted = conversion.empty() || conversion == "s" ? *v : Value::string(py_repr(*v));
    if (conversion == "s") converted = Value::string(py_str(*v));
    out += apply_format_spec(r, converted, spec);
    k = end;
  }
  return Value::string(std::move(out));
}

Value string_method(Renderer& r, const std::string& s, const std::string& name, Args& args,
                    bool* found) {
  static const Value kNone = Value::none();
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    Value chars = arg(args, 0, "chars", kNone);
    StripSide side = name == "strip"    ? StripSide::kBoth
                     : name == "lstrip" ? StripSide::kLeft
                                        : StripSide::kRight;
    return Value::string(
        py_strip(s, chars.is_none() ? nullptr : &str_arg(r, chars, "chars"), side));
  }
  if (name == "split" || name == "rsplit") {
    Value sep = arg(args, 0, "sep", kNone);
    Value maxsplit = arg(args, 1, "maxsplit", Value::integer(-1));
    const std::string* sep_s = sep.is_none() ? nullptr : &str_arg(r, sep, "sep");
    if (sep_s && sep_s->empty()) r.fail("empty separator");
    return str_list(py_split(s, sep_s, int_arg(r, maxsplit, "maxsplit"), name == "rsplit"));
  }
  if (name == "splitlines") {
    return str_list(py_splitlines(s, arg(args, 0, "keepends", Value::boolean(false)).truthy()));
  }
  if (name == "startswith" || name == "endswith") {
    Value what = arg(args, 0, name == "startswith" ? "prefix" : "suffix", Value());
    List candidates = what.is_list() ? what.items() : List{what};
    for (const auto& c : candidates) {
      const std::string& p = str_arg(r, c, name.c_str());
      bool hit = name == "startswith"
                     ? s.compare(0, p.size(), p) == 0
                     : s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
      if (hit) return Value::boolean(true);
    }
    return Value::boolean(false);
  }
  if (name == "upper") return Value::string(py_upper(s));
  if (name == "lower") return Value::string(py_lower(s));
  if (name == "title") return Value::string(py_title(s));
  if (name == "capitalize") return Value::string(py_capitalize(s));
  if (name == "swapcase") return Value::string(py_swapcase(s));
  if (name == "replace") {
    return Value::string(
        py_replace(s, str_arg(r, arg(args, 0, "old", Value()), "old"),
                   str_arg(r, arg(args, 1, "new", Value()), "new"),
                   int_arg(r, arg(args, 2, "count", Value::integer(-1)), "count")));
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
    std::int64_t i = py_find(s, str_arg(r, arg(args, 0, "sub", Value()), "sub"), name[0] == 'r');
    if (i < 0 && name.find("index") != std::string::npos) r.fail("substring not found");
    return Value::integer(i);
  }
  if (name == "count")
    return Value::integer(py_count(s, str_arg(r, arg(args, 0, "sub", Value()), "sub")));
  if (name == "join") {
    List items = r.iterate(arg(args, 0, "iterable", Value()));
    std::string out;
    for (std::size_t k = 0; k < items.size(); ++k) {
      if (k) out += s;
      if (!items[k].is_string()) {
        r.fail(fmt::format("sequence item {}: expected str instance, {} found", k,
                           type_name(items[k])));
      }
      out += items[k].str();
    }
    return Value::string(std::move(out));
  }
  if (name == "format") return str_format(r, s, args);
  if (name == "isdigit" || name == "isnumeric" || name == "isdecimal") {
    return Value::boolean(
        all_cps(s, [](char32_t c) { return u_isdigit(static_cast<UChar32>(c)) != 0; }));
  }
  if (name == "isalpha") {
    return Value::boolean(
        all_cps(s, [](char32_t c) { return u_isalpha(static_cast<UChar32>(c)) != 0; }));
  }
  if (name == "isalnum") {
    return Value::boolean(
        all_cps(s, [](char32_t c) { return u_isalnum(static_cast<UChar32>(c)) != 0; }));
  }
  if (name == "isspace") return Value::boolean(all_cps(s, py_isspace));
  if (name == "islower") return Value::boolean(py_islower(s));
  if (name == "isupper") return Value::boolean(py_isupper(s));
  if (name == "center" || name == "ljust" || name == "rjust") {
    Value fill = arg(args, 1, "fillchar", Value::string(" "));
    char align = name == "center" ? '^' : name == "ljust" ? '<' : '>';
    return Value::string(py_pad(s, int_arg(r, arg(args, 0, "width", Value()), "width"),
                                str_arg(r, fill, "fillchar"), align));
  }
  if (name == "zfill") {
    std::int64_t width = int_arg(r, arg(args, 0, "width", Value()), "width");
    std::int64_t len = static_cast<std::int64_t>(cp_length(s));
    if (width <= len) return Value::string(s);
    std::string pad(static_cast<std::size_t>(width - len), '0');
    if (!s.empty() && (s[0] == '-' || s[0] == '+'))
      return Value::string(s.substr(0, 1) + pad + s.substr(1));
    return Value::string(pad + s);
  }
  if (name == "removeprefix" || name == "removesuffix") {
    std::string a = str_arg(r, arg(args, 0, "affix", Value()), name.c_str());
    if (name == "removeprefix" && s.compare(0, a.size(), a) == 0)
      return Value::string(s.substr(a.size()));
    if (name == "removesuffix" && !a.empty() && s.size() >= a.size() &&
        s.compare(s.size() - a.size(), a.size(), a) == 0) {
      return Value::string(s.substr(0, s.size() - a.size()));
    }
    return Value::string(s);
  }
  *found = false;
  return Value();
}

Value loop_attr(const LoopState& st, const std::string& name) {
  std::int64_t i = static_cast<std::int64_t>(st.index);
  std::int64_t n = static_cast<std::int64_t>(st.length);
  if (name == "index") return Value::integer(i + 1);
  if (name == "index0") return Value::integer(i);
  if (name == "revindex") return Value::integer(n - i);
  if (name == "revindex0") return Value::integer(n - i - 1);
  if (name == "first") return Value::boolean(i == 0);
  if (name == "last") return Value::boolean(i == n - 1);
  if (name == "length") return Value::integer(n);
  if (name == "depth") return Value::integer(static_cast<std::int64_t>(st.depth));
  if (name == "depth0") return Value::integer(static_cast<std::int64_t>(st.depth) - 1);
  if (name == "previtem") {
    if (i == 0) return Value::undefined("there is no previous item");
    return (*st.items)[st.index - 1];
  }
  if (name == "nextitem") {
    if (i + 1 >= n) return Value::undefined("there is no next item");
    return (*st.items)[st.index + 1];
  }
  return Value::undefined("'LoopContext' object has no attribute '" + name + "'");
}

Value bound_method(const Value& obj, const std::string& name) {
  return Value::callable(name, [obj, name](Renderer& r, Args& args) {
    bool found = true;
    Value v = call_method(r, obj, name, args, &found);
    if (!found) r.fail("'" + type_name(obj) + "' object has no attribute '" + name + "'");
    return v;
  });
}

// jinja2's object_type_repr: 'None' for None, else 'TYPE object'.
std::string no_attribute(const Value& obj, const std::string& name) {
  if (obj.is_none()) return "'None' has no attribute '" + name + "'";
  return "'" + type_name(obj) + " object' has no attribute '" + name + "'";
}

}  // namespace

std::int64_t parse_digits(std::string_view digits, std::int64_t cap) {
  std::int64_t n = 0;
  for (char c : digits) {
    n = std::min(cap, n * 10 + (c - '0'));
  }
  return n;
}

Value get_attr(Renderer& r, const Value& obj, const std::string& name) {
  (void)r;
  switch (obj.kind()) {
    case Kind::kString:
      if (in(kStrMethods, name)) return bound_method(obj, name);
      break;
    case Kind::kList:
      if (obj.is_group_tuple() && (name == "grouper" || name == "list")) {
        return obj.items()[name == "grouper" ? 0 : 1];
      }
      if (in(kListMethods, name)) return bound_method(obj, name);
      if (in(kListUnsafe, name)) {
        return Value::undefined(
            "access to attribute '" + name + "' of '" + type_name(obj) + "' object is unsafe.",
            true);
      }
      break;
    case Kind::kDict: {
      if (in(kDictMethods, name)) return bound_method(obj, name);
      if (in(kDictUnsafe, name)) {
        return Value::undefined("access to attribute '" + name + "' of 'dict' object is unsafe.",
                                true);
      }
      if (const Value* v = obj.dict().find(std::string_view(name))) return *v;
      break;
    }
    case Kind::kNamespace:
      if (const Value* v = obj.dict().find(std::string_view(name))) return *v;
      break;
    case Kind::kLoop:
      if (name == "cycle" || name == "changed") return bound_method(obj, name);
      return loop_attr(obj.loop_state(), name);
    default:
      break;
  }
  return Value::undefined(no_attribute(obj, name));
}

Value get_item(Renderer& r, const Value& obj, const Value& key) {
  switch (obj.kind()) {
    case Kind::kDict:
      if (const Value* v = obj.dict().find(key)) return *v;
      break;
    case Kind::kList:
      if (key.is_integral()) {
        std::int64_t n = static_cast<std::int64_t>(obj.items().size());
        std::int64_t i = key.as_int() < 0 ? key.as_int() + n : key.as_int();
        if (i >= 0 && i < n) return obj.items()[static_cast<std::size_t>(i)];
        return Value::undefined("'" + type_name(obj) + " object' has no element " + py_str(key));
      }
      break;
    case Kind::kString:
      if (key.is_integral()) {
        std::vector<std::size_t> offsets = cp_offsets(obj.str());
        std::int64_t n = static_cast<std::int64_t>(offsets.size() - 1);
        std::int64_t i = key.as_int() < 0 ? key.as_int() + n : key.as_int();
        if (i >= 0 && i < n) {
          auto at = static_cast<std::size_t>(i);
          return Value::string(obj.str().substr(offsets[at], offsets[at + 1] - offsets[at]));
        }
        return Value::undefined("'str object' has no element " + py_str(key));
      }
      break;
    default:
      break;
  }
  if (key.is_string()) return get_attr(r, obj, key.str());
  return Value::undefined("'" + type_name(obj) + " object' has no element " + py_repr(key));
}

Value call_method(Renderer& r, const Value& obj, const std::string& name, Args& args, bool* found) {
  *found = true;
  switch (obj.kind()) {
    case Kind::kString:
      return string_method(r, obj.str(), name, args, found);
    case Kind::kDict: {
      const Dict& d = obj.dict();
      if (name == "items" || name == "keys" || name == "values") {
        List out;
        out.reserve(d.items.size());
        for (const auto& [k, v] : d.items) {
          if (name == "items") {
            out.push_back(Value::list({k, v}, true));
          } else {
            out.push_back(name == "keys" ? k : v);
          }
        }
        return Value::list(std::move(out));
      }
      if (name == "get") {
        const Value* v = d.find(arg(args, 0, "key", Value()));
        return v ? *v : arg(args, 1, "default", Value::none());
      }
      if (name == "copy") return Value::dict(d);
      if (in(kDictUnsafe, name)) {
        r.fail("access to attribute '" + name + "' of 'dict' object is unsafe.");
      }
      break;
    }
    case Kind::kList: {
      const List& items = obj.items();
      if (name == "index" || name == "count") {
        Value x = arg(args, 0, "value", Value());
        std::int64_t n = 0;
        for (std::size_t k = 0; k < items.size(); ++k) {
          if (!py_equal(items[k], x)) continue;
          if (name == "index") return Value::integer(static_cast<std::int64_t>(k));
          ++n;
        }
        if (name == "index") r.fail(py_repr(x) + " is not in list");
        return Value::integer(n);
      }
      if (name == "copy" && !obj.is_tuple()) return Value::list(items);
      if (in(kListUnsafe, name)) {
        r.fail("access to attribute '" + name + "' of '" + type_name(obj) + "' object is unsafe.");
      }
      break;
    }
    case Kind::kLoop: {
      LoopState& st = obj.loop_state();
      if (name == "cycle") {
        if (args.pos.empty()) r.fail("no items for cycling given");
        return args.pos[st.index % args.pos.size()];
      }
      if (name == "changed") {
        Value now = Value::list(args.pos);
        if (!st.last_changed.is_undefined() && py_equal(st.last_changed, now)) {
          return Value::boolean(false);
        }
        st.last_changed = now;
        return Value::boolean(true);
      }
      break;
    }
    default:
      break;
  }
  *found = false;
  return Value();
}

Value global_function(Renderer& r, const std::string& name) {
  (void)r;
  if (name == "range") {
    return Value::callable("range", [](Renderer& r, Args& args) {
      if (!args.kw.empty()) r.fail("range() takes no keyword arguments");
      if (args.pos.empty() || args.pos.size() > 3) {
        r.fail(fmt::format("range expected 1 to 3 arguments, got {}", args.pos.size()));
      }
      std::int64_t a = 0, b, step = 1;
      if (args.pos.size() == 1) {
        b = int_arg(r, args.pos[0], "range() argument");
      } else {
        a = int_arg(r, args.pos[0], "range() argument");
        b = int_arg(r, args.pos[1], "range() argument");
        if (args.pos.size() == 3) step = int_arg(r, args.pos[2], "range() argument");
      }
      if (step == 0) r.fail("range() arg 3 must not be zero");
      std::int64_t n = step > 0 ? (b > a ? (b - a + step - 1) / step : 0)
                                : (a > b ? (a - b - step - 1) / -step : 0);
      // jinja2's sandbox caps ranges at MAX_RANGE.
      if (n > 100000)
        r.fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
      List items;
      items.reserve(static_cast<std::size_t>(n));
      for (std::int64_t k = 0; k < n; ++k) items.push_back(Value::integer(a + k * step));
      return Value::list(std::move(items));
    });
  }
  if (name == "namespace" || name == "dict") {
    bool ns = name == "namespace";
    return Value::callable(name, [ns](Renderer& r, Args& args) {
      Dict d;
      for (const auto& p : args.pos) {
        if (!p.is_dict()) r.fail("namespace()/dict() takes a dict as positional argument");
        for (const auto& [k, v] : p.dict().items) d.set(k, v);
      }
      for (auto& [k, v] : args.kw) d.set(Value::string(k), v);
      if (!ns) return Value::dict(std::move(d));
      Value v = Value::new_namespace(std::move(d));
      r.track_namespace(v);
      return v;
    });
  }
  if (name == "joiner") {
    // joiner(sep): a function returning "" the first time, sep after.
    return Value::callable("joiner", [](Renderer&, Args& args) {
      std::string sep = py_str(arg(args, 0, "sep", Value::string(", ")));
      auto used = std::make_shared<bool>(false);
      return Value::callable("joiner", [sep, used](Renderer&, Args&) {
        if (!*used) {
          *used = true;
          return Value::string("");
        }
        return Value::string(sep);
      });
    });
  }
  if (!r.options().transformers_globals) return Value();
  if (name == "raise_exception") {
    return Value::callable(name, [](Renderer&, Args& args) -> Value {
      // transformers raises TemplateError(message): the message is the template's own.
      throw Error(ErrorKind::kInvalidInput, args.pos.empty() ? "" : py_str(args.pos[0]));
    });
  }
  if (name == "strftime_now") {
    return Value::callable(name, [](Renderer& r, Args& args) {
      std::string format = str_arg(r, arg(args, 0, "format", Value()), "format");
      if (r.options().strftime_now) return Value::string(r.options().strftime_now(format));
      std::time_t now = std::time(nullptr);
      std::tm tm{};
      localtime_r(&now, &tm);
      char buf[512];
      std::size_t n = std::strftime(buf, sizeof buf, format.c_str(), &tm);
      return Value::string(std::string(buf, n));
    });
  }
  return Value();
}

// printf-style `%` as Python's str.__mod__ does it for the common
// conversions (s r d i f F e E g G x X o c %), flags, width and precision.
Value percent_format(Renderer& r, const std::string& format, const Value& args) {
  List positional = args.is_tuple() ? args.items() : List{args};
  const Dict* mapping = args.is_dict() ? &args.dict() : nullptr;
  std::size_t next = 0;
  bool used_mapping = false;
  std::string out;
  for (std::size_t k = 0; k < format.size(); ++k) {
    if (format[k] != '%') {
      out += format[k];
      continue;
    }
    if (++k >= format.size()) r.fail("incomplete format");
    const Value* v = nullptr;
    if (format[k] == '(') {
      std::size_t close = format.find(')', k);
      if (close == std::string::npos) r.fail("incomplete format key");
      if (!mapping) r.fail("format requires a mapping");
      v = mapping->find(std::string_view(format).substr(k + 1, close - k - 1));
      if (!v) r.fail("KeyError: '" + format.substr(k + 1, close - k - 1) + "'");
      used_mapping = true;
      k = close + 1;
    }
    std::string flags;
    while (k < format.size() &&
           std::string_view("-+ #0").find(format[k]) != std::string_view::npos) {
      flags += format[k++];
    }
    std::string width, precision;
    while (k < format.size() && std::isdigit(static_cast<unsigned char>(format[k])))
      width += format[k++];
    if (k < format.size() && format[k] == '.') {
      precision = ".";
      ++k;
      while (k < format.size() && std::isdigit(static_cast<unsigned char>(format[k])))
        precision += format[k++];
    }
    if (k >= format.size()) r.fail("incomplete format");
    char conv = format[k];
    if (conv == '%') {
      out += '%';
      continue;
    }
    if (!v) {
      if (next >= positional.size()) r.fail("not enough arguments for format string");
      v = &positional[next++];
    }
    std::string piece;
    std::int64_t width_n = parse_digits(width);
    std::int64_t precision_n = precision.size() > 1 ? parse_digits(precision.substr(1)) : 0;
    if (width_n > (1 << 20) || precision_n > 1000) r.fail("format width or precision too large");
    std::string spec = "%" + flags + width + precision;
    std::vector<char> buf(static_cast<std::size_t>(width_n + precision_n) + 400);
    switch (conv) {
      case 's':
      case 'r': {
        piece = conv == 's' ? py_str(*v) : py_repr(*v);
        if (precision.size() > 1) {
          auto n = static_cast<std::size_t>(precision_n);
          std::vector<std::size_t> offs = cp_offsets(piece);
          if (n < offs.size() - 1) piece = piece.substr(0, offs[n]);
        }
        if (!width.empty()) {
          piece = py_pad(piece, width_n, " ", flags.find('-') != std::string::npos ? '<' : '>');
        }
        out += piece;
        continue;
      }
      case 'd':
      case 'i':
      case 'x':
      case 'X':
      case 'o': {
        if (!v->is_number())
          r.fail(fmt::format("%{} format: a real number is required, not {}", conv, type_name(*v)));
        long long n =
            v->kind() == Kind::kFloat ? static_cast<long long>(v->as_double()) : v->as_int();
        std::snprintf(buf.data(), buf.size(), (spec + "ll" + (conv == 'i' ? 'd' : conv)).c_str(),
                      n);
        break;
      }
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G':
        if (!v->is_number()) r.fail(fmt::format("must be real number, not {}", type_name(*v)));
        std::snprintf(buf.data(), buf.size(), (spec + conv).c_str(), v->as_double());
        break;
      case 'c':
        if (v->is_string()) {
          piece = v->str();
        } else {
          cp_append(piece, static_cast<char32_t>(int_arg(r, *v, "%c")));
        }
        out += piece;
        continue;
      default:
        r.fail(fmt::format("unsupported format character '{}'", conv));
    }
    out += buf.data();
  }
  if (!used_mapping && next < positional.size() && !mapping) {
    r.fail("not all arguments converted during string formatting");
  }
  return Value::string(std::move(out));
}

}  // namespace enclave::jinja
