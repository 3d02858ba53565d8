// Python's printing rules are followed to the byte: float repr is the
// shortest round-tripping form with Python's switch to exponent notation
// (exponent < -4 or >= 16), and str repr picks its quote and escapes
// non-printable code points as Python's unicode_repr does.
#include "jinja/value.h"

#include <unicode/uchar.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "jinja/loop.h"

namespace enclave::jinja {

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : items) {
    if (k.is_string() && k.str() == key) return &v;
  }
  return nullptr;
}

const Value* Dict::find(const Value& key) const {
  if (key.is_string()) return find(std::string_view(key.str()));
  for (const auto& [k, v] : items) {
    if (py_equal(k, key)) return &v;
  }
  return nullptr;
}

namespace {

// The depth of a container holding values of depth `inner`.
int container_depth(int inner) {
  if (inner + 1 > Value::kMaxDepth) {
    fail_input("a list, dict or namespace nested more than {} levels deep", Value::kMaxDepth);
  }
  return inner + 1;
}

}  // namespace

void Dict::set(Value key, Value value) {
  // A namespace's attributes change after it is made: its depth follows.
  depth = std::max({depth, key.depth(), container_depth(value.depth()) - 1});
  for (auto& [k, v] : items) {
    if (py_equal(k, key)) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(std::move(key), std::move(value));
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}
Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.num_.i = b ? 1 : 0;
  return v;
}
Value Value::integer(std::int64_t i) {
  Value v;
  v.kind_ = Kind::kInt;
  v.num_.i = i;
  return v;
}
Value Value::floating(double f) {
  Value v;
  v.kind_ = Kind::kFloat;
  v.num_.f = f;
  return v;
}
Value Value::string(std::string s) {
  Value v;
  v.kind_ = Kind::kString;
  v.s_ = std::move(s);
  return v;
}
Value Value::markup(std::string s) {
  Value v = string(std::move(s));
  v.markup_ = true;
  return v;
}

int Value::depth() const {
  if (kind_ == Kind::kNamespace) return dict().depth + 1;
  return depth_;
}

Value Value::list(List items, bool tuple) {
  int inner = 0;
  for (const Value& item : items) inner = std::max(inner, item.depth());
  Value v;
  v.depth_ = static_cast<std::uint16_t>(container_depth(inner));
  v.kind_ = Kind::kList;
  v.tuple_ = tuple;
  v.ptr_ = std::make_shared<List>(std::move(items));
  return v;
}
Value Value::group_tuple(Value grouper, Value list) {
  Value v = Value::list({std::move(grouper), std::move(list)}, true);
  v.group_ = true;
  return v;
}

Value Value::dict(Dict d) {
  d.depth = 0;
  for (const auto& [key, value] : d.items)
    d.depth = std::max({d.depth, key.depth(), value.depth()});
  Value v;
  v.depth_ = static_cast<std::uint16_t>(container_depth(d.depth));
  v.kind_ = Kind::kDict;
  v.ptr_ = std::make_shared<Dict>(std::move(d));
  return v;
}
Value Value::new_namespace(Dict attributes) {
  Value v = dict(std::move(attributes));
  v.kind_ = Kind::kNamespace;
  return v;
}
Value Value::callable(std::string name, std::function<Value(Renderer&, Args&)> fn) {
  Value v;
  v.kind_ = Kind::kCallable;
  v.ptr_ = std::make_shared<Callable>(Callable{std::move(name), std::move(fn)});
  return v;
}
Value Value::loop(std::shared_ptr<LoopState> state) {
  Value v;
  v.kind_ = Kind::kLoop;
  v.ptr_ = std::move(state);
  return v;
}
Value Value::undefined(std::string hint, bool unsafe) {
  Value v;
  v.s_ = std::move(hint);
  v.num_.i = unsafe ? 1 : 0;
  return v;
}

Value Value::from_json(const nlohmann::ordered_json& j, int depth) {
  if (depth > kMaxJsonDepth) {
    fail_input("render context: JSON nested more than {} levels deep", kMaxJsonDepth);
  }
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
      return none();
    case nlohmann::ordered_json::value_t::boolean:
      return boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return integer(j.get<std::int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      auto u = j.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(INT64_MAX)) return floating(static_cast<double>(u));
      return integer(static_cast<std::int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float:
      return floating(j.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      List items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json(e, depth + 1));
      return list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Dict d;
      d.items.reserve(j.size());
      for (const auto& [k, e] : j.items()) d.items.emplace_back(string(k), from_json(e, depth + 1));
      return dict(std::move(d));
    }
    default:
      return none();
  }
}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
    case Kind::kInt:
      return num_.i != 0;
    case Kind::kFloat:
      return num_.f != 0.0;
    case Kind::kString:
      return !s_.empty();
    case Kind::kList:
      return !items().empty();
    case Kind::kDict:
      return !dict().items.empty();
    default:
      return true;
  }
}

// --- UTF-8 ---

char32_t cp_decode(std::string_view s, std::size_t& pos) {
  auto c = static_cast<unsigned char>(s[pos]);
  int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
  if (pos + n > s.size()) n = 1;
  char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[pos + k]) & 0x3F);
  pos += n;
  return cp;
}

void cp_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::size_t cp_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::vector<std::size_t> cp_offsets(std::string_view s) {
  std::vector<std::size_t> offsets;
  offsets.reserve(s.size() + 1);
  for (std::size_t pos = 0; pos < s.size();) {
    offsets.push_back(pos);
    cp_decode(s, pos);
  }
  offsets.push_back(s.size());
  return offsets;
}

bool py_isspace(char32_t cp) {
  switch (cp) {
    case ' ':
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case 0x1C:
    case 0x1D:
    case 0x1E:
    case 0x1F:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

// --- printing ---

std::string float_repr(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f < 0 ? "-inf" : "inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::string out;
  std::size_t i = 0;
  if (sci[0] == '-') {
    out += '-';
    i = 1;
  }
  std::size_t e = sci.find('e');
  std::string digits;
  for (std::size_t k = i; k < e; ++k) {
    if (sci[k] != '.') digits += sci[k];
  }
  int exp = std::stoi(sci.substr(e + 1));
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  int decpt = exp + 1;
  int nd = static_cast<int>(digits.size());
  if (decpt <= -4 || decpt > 16) {
    out += digits[0];
    if (nd > 1) {
      out += '.';
      out += digits.substr(1);
    }
    char ebuf[16];
    std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    out += ebuf;
  } else if (decpt <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-decpt), '0');
    out += digits;
  } else if (decpt >= nd) {
    out += digits;
    out.append(static_cast<std::size_t>(decpt - nd), '0');
    out += ".0";
  } else {
    out += digits.substr(0, decpt);
    out += '.';
    out += digits.substr(decpt);
  }
  return out;
}

static bool py_isprintable(char32_t cp) {
  if (cp == ' ') return true;
  if (cp < 0x20 || cp == 0x7F) return false;
  if (cp < 0x7F) return true;
  switch (u_charType(static_cast<UChar32>(cp))) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_SURROGATE:
    case U_PRIVATE_USE_CHAR:
    case U_UNASSIGNED:
    case U_LINE_SEPARATOR:
    case U_PARAGRAPH_SEPARATOR:
    case U_SPACE_SEPARATOR:
      return false;
    default:
      return true;
  }
}

static void append_py_repr_inner(std::string& out, const Value& v);

static void append_str_repr(std::string& out, const std::string& s) {
  bool has_single = s.find('\'') != std::string::npos;
  bool has_double = s.find('"') != std::string::npos;
  char quote = has_single && !has_double ? '"' : '\'';
  out += quote;
  for (std::size_t pos = 0; pos < s.size();) {
    std::size_t start = pos;
    char32_t cp = cp_decode(s, pos);
    if (cp == static_cast<char32_t>(quote) || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (!py_isprintable(cp)) {
      char buf[16];
      if (cp < 0x100) {
        std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(cp));
      } else if (cp < 0x10000) {
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
      } else {
        std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(cp));
      }
      out += buf;
    } else {
      out.append(s, start, pos - start);
    }
  }
  out += quote;
}

// Containers being printed, innermost last: a namespace can hold itself,
// and Python prints such a cycle as {...} / [...] rather than recursing.
thread_local std::vector<const void*> t_printing;

namespace {
struct Printing {
  explicit Printing(const void* id) {
    // Namespaces can chain deeper than their recorded depth (an attribute
    // set after the namespace went into a list): bound the recursion here.
    if (t_printing.size() >= static_cast<std::size_t>(Value::kMaxDepth)) {
      fail_input("a list, dict or namespace nested more than {} levels deep", Value::kMaxDepth);
    }
    t_printing.push_back(id);
  }
  ~Printing() { t_printing.pop_back(); }
  static bool active(const void* id) {
    return std::find(t_printing.begin(), t_printing.end(), id) != t_printing.end();
  }
};

// "k: v, k: v" as Python writes a dict's items.
void append_dict_items(std::string& out, const Value& v) {
  bool first = true;
  for (const auto& [k, e] : v.dict().items) {
    if (!first) out += ", ";
    first = false;
    append_py_repr(out, k);
    out += ": ";
    append_py_repr(out, e);
  }
}
}  // namespace

void append_py_repr(std::string& out, const Value& v) {
  if ((v.is_list() || v.is_dict()) && Printing::active(v.identity())) {
    out += v.is_list() ? (v.is_tuple() ? "(...)" : "[...]") : "{...}";
    return;
  }
  if (v.is_list() || v.is_dict()) {
    Printing guard(v.identity());
    append_py_repr_inner(out, v);
    return;
  }
  append_py_repr_inner(out, v);
}

static void append_py_repr_inner(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Kind::kString:
      append_str_repr(out, v.str());
      return;
    case Kind::kList: {
      out += v.is_tuple() ? '(' : '[';
      const List& items = v.items();
      for (std::size_t k = 0; k < items.size(); ++k) {
        if (k) out += ", ";
        append_py_repr(out, items[k]);
      }
      if (v.is_tuple() && items.size() == 1) out += ',';
      out += v.is_tuple() ? ')' : ']';
      return;
    }
    case Kind::kDict:
      out += '{';
      append_dict_items(out, v);
      out += '}';
      return;
    case Kind::kUndefined:
      out += "Undefined";
      return;
    default:
      append_py_str(out, v);
  }
}

void append_py_str(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
      return;
    case Kind::kNone:
      out += "None";
      return;
    case Kind::kBool:
      out += v.as_bool() ? "True" : "False";
      return;
    case Kind::kInt:
      out += std::to_string(v.as_int());
      return;
    case Kind::kFloat:
      out += float_repr(v.as_double());
      return;
    case Kind::kString:
      out += v.str();
      return;
    case Kind::kNamespace: {
      if (Printing::active(v.identity())) {
        out += "<Namespace {...}>";
        return;
      }
      Printing guard(v.identity());
      out += "<Namespace {";
      append_dict_items(out, v);
      out += "}>";
      return;
    }
    case Kind::kCallable:
      out += "<function " + v.fn().name + ">";
      return;
    case Kind::kLoop:
      out += "<LoopContext " + std::to_string(v.loop_state().index + 1) + "/" +
             std::to_string(v.loop_state().length) + ">";
      return;
    default:
      append_py_repr(out, v);
  }
}

std::string py_str(const Value& v) {
  if (v.is_string()) return v.str();
  std::string out;
  append_py_str(out, v);
  return out;
}

std::string py_repr(const Value& v) {
  std::string out;
  append_py_repr(out, v);
  return out;
}

std::string type_name(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
      return "Undefined";
    case Kind::kNone:
      return "NoneType";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kList:
      return v.is_tuple() ? "tuple" : "list";
    case Kind::kDict:
      return "dict";
    case Kind::kNamespace:
      return "Namespace";
    case Kind::kCallable:
      return "function";
    case Kind::kLoop:
      return "LoopContext";
  }
  return "object";
}

// --- comparison ---

bool py_equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral()) return a.as_int() == b.as_int();
    return a.as_double() == b.as_double();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::kUndefined:
    case Kind::kNone:
      return true;
    case Kind::kString:
      return a.str() == b.str();
    case Kind::kList: {
      if (a.is_tuple() != b.is_tuple()) return false;
      const List& x = a.items();
      const List& y = b.items();
      if (x.size() != y.size()) return false;
      for (std::size_t k = 0; k < x.size(); ++k) {
        if (!py_equal(x[k], y[k])) return false;
      }
      return true;
    }
    case Kind::kDict: {
      const Dict& x = a.dict();
      const Dict& y = b.dict();
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* other = y.find(k);
        if (!other || !py_equal(v, *other)) return false;
      }
      return true;
    }
    default:
      return a.identity() == b.identity();
  }
}

bool py_less(const Value& a, const Value& b, bool* ok) {
  *ok = true;
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral()) return a.as_int() < b.as_int();
    return a.as_double() < b.as_double();
  }
  if (a.is_string() && b.is_string()) return a.str() < b.str();  // UTF-8 keeps code point order
  if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
    const List& x = a.items();
    const List& y = b.items();
    for (std::size_t k = 0; k < x.size() && k < y.size(); ++k) {
      if (!py_equal(x[k], y[k])) return py_less(x[k], y[k], ok);
    }
    return x.size() < y.size();
  }
  *ok = false;
  return false;
}

}  // namespace enclave::jinja
