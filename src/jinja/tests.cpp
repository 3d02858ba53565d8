// jinja2's built-in tests (jinja2/tests.py, version 3.1): `x is name(args)`.
#include <cmath>
#include <map>

#include "core/error.h"
#include "jinja/builtins.h"
#include "jinja/pystr.h"
#include "jinja/renderer.h"

namespace enclave::jinja {
namespace {

const Value& test_arg(Renderer& r, Args& args, const char* name) {
  if (!args.pos.empty()) return args.pos[0];
  for (const auto& [k, v] : args.kw) {
    if (k == name) return v;
  }
  r.fail(std::string("test is missing its argument '") + name + "'");
}

bool t_defined(Renderer&, const Value& v, Args&) { return !v.is_undefined(); }
bool t_undefined(Renderer&, const Value& v, Args&) { return v.is_undefined(); }
bool t_none(Renderer&, const Value& v, Args&) { return v.is_none(); }
bool t_string(Renderer&, const Value& v, Args&) { return v.is_string(); }
bool t_mapping(Renderer&, const Value& v, Args&) { return v.is_dict(); }
bool t_number(Renderer&, const Value& v, Args&) { return v.is_number(); }
bool t_integer(Renderer&, const Value& v, Args&) { return v.kind() == Kind::kInt; }
bool t_float(Renderer&, const Value& v, Args&) { return v.kind() == Kind::kFloat; }
bool t_boolean(Renderer&, const Value& v, Args&) { return v.kind() == Kind::kBool; }
bool t_true(Renderer&, const Value& v, Args&) { return v.kind() == Kind::kBool && v.as_bool(); }
bool t_false(Renderer&, const Value& v, Args&) { return v.kind() == Kind::kBool && !v.as_bool(); }
bool t_callable(Renderer&, const Value& v, Args&) { return v.kind() == Kind::kCallable; }
bool t_iterable(Renderer& r, const Value& v, Args&) {
  if (v.is_undefined()) {
    r.check_defined(v);
    return true;
  }
  return v.is_string() || v.is_list() || v.is_dict();
}
bool t_sequence(Renderer& r, const Value& v, Args&) {
  if (v.is_undefined()) {
    r.check_defined(v);
    return true;
  }
  return v.is_string() || v.is_list() || v.is_dict();
}
bool t_eq(Renderer& r, const Value& v, Args& a) { return py_equal(v, test_arg(r, a, "other")); }
bool t_ne(Renderer& r, const Value& v, Args& a) { return !py_equal(v, test_arg(r, a, "other")); }
bool ordered(Renderer& r, const Value& x, const Value& y) {
  bool ok = true;
  bool less = py_less(x, y, &ok);
  if (!ok)
    r.fail("'<' not supported between instances of '" + type_name(x) + "' and '" + type_name(y) +
           "'");
  return less;
}
bool t_lt(Renderer& r, const Value& v, Args& a) { return ordered(r, v, test_arg(r, a, "other")); }
bool t_gt(Renderer& r, const Value& v, Args& a) { return ordered(r, test_arg(r, a, "other"), v); }
bool t_le(Renderer& r, const Value& v, Args& a) { return !ordered(r, test_arg(r, a, "other"), v); }
bool t_ge(Renderer& r, const Value& v, Args& a) { return !ordered(r, v, test_arg(r, a, "other")); }
// Python's `value % num` for the odd/even/divisibleby tests (floats too).
double py_mod(Renderer& r, const Value& v, const Value& num) {
  r.check_defined(v, true);
  if (!v.is_number() || !num.is_number()) {
    r.fail("unsupported operand type(s) for %: '" + type_name(v) + "' and '" + type_name(num) +
           "'");
  }
  if (num.as_double() == 0.0) r.fail("integer division or modulo by zero");
  if (v.is_integral() && num.is_integral()) {
    if (num.as_int() == -1) return 0.0;
    std::int64_t m = v.as_int() % num.as_int();
    if (m != 0 && ((m < 0) != (num.as_int() < 0))) m += num.as_int();
    return static_cast<double>(m);
  }
  double m = std::fmod(v.as_double(), num.as_double());
  if (m != 0 && ((m < 0) != (num.as_double() < 0))) m += num.as_double();
  return m;
}
bool t_odd(Renderer& r, const Value& v, Args&) { return py_mod(r, v, Value::integer(2)) == 1.0; }
bool t_even(Renderer& r, const Value& v, Args&) { return py_mod(r, v, Value::integer(2)) == 0.0; }
bool t_divisibleby(Renderer& r, const Value& v, Args& a) {
  return py_mod(r, v, test_arg(r, a, "num")) == 0.0;
}
bool t_in(Renderer& r, const Value& v, Args& a) {
  const Value& seq = test_arg(r, a, "seq");
  if (seq.is_string()) {
    if (!v.is_string())
      r.fail("'in <string>' requires string as left operand, not " + type_name(v));
    return seq.str().find(v.str()) != std::string::npos;
  }
  if (seq.is_dict()) return seq.dict().find(v) != nullptr;
  for (const auto& e : r.iterate(seq)) {
    if (py_equal(v, e)) return true;
  }
  return false;
}
bool t_lower(Renderer& r, const Value& v, Args&) { return py_islower(text_of(r, v)); }
bool t_upper(Renderer& r, const Value& v, Args&) { return py_isupper(text_of(r, v)); }
bool t_sameas(Renderer& r, const Value& v, Args& a) {
  const Value& o = test_arg(r, a, "other");
  if (v.kind() != o.kind()) return false;
  switch (v.kind()) {
    case Kind::kNone:
    case Kind::kUndefined:
      return true;
    case Kind::kBool:
    case Kind::kInt:
      return v.as_int() == o.as_int();
    case Kind::kFloat:
      return false;
    case Kind::kString:
      return v.str() == o.str();
    default:
      return v.identity() == o.identity();
  }
}
bool t_filter(Renderer&, const Value& v, Args&) { return v.is_string() && find_filter(v.str()); }
bool t_test(Renderer&, const Value& v, Args&) { return v.is_string() && find_test(v.str()); }
bool t_escaped(Renderer&, const Value&, Args&) { return false; }

}  // namespace

TestFn find_test(std::string_view name) {
  static const std::map<std::string_view, TestFn> kTests = {
      {"boolean", t_boolean},
      {"callable", t_callable},
      {"defined", t_defined},
      {"divisibleby", t_divisibleby},
      {"eq", t_eq},
      {"equalto", t_eq},
      {"==", t_eq},
      {"escaped", t_escaped},
      {"even", t_even},
      {"false", t_false},
      {"filter", t_filter},
      {"float", t_float},
      {"ge", t_ge},
      {">=", t_ge},
      {"gt", t_gt},
      {">", t_gt},
      {"greaterthan", t_gt},
      {"in", t_in},
      {"integer", t_integer},
      {"iterable", t_iterable},
      {"le", t_le},
      {"<=", t_le},
      {"lower", t_lower},
      {"lt", t_lt},
      {"<", t_lt},
      {"lessthan", t_lt},
      {"mapping", t_mapping},
      {"ne", t_ne},
      {"!=", t_ne},
      {"none", t_none},
      {"number", t_number},
      {"odd", t_odd},
      {"sameas", t_sameas},
      {"sequence", t_sequence},
      {"string", t_string},
      {"test", t_test},
      {"true", t_true},
      {"undefined", t_undefined},
      {"upper", t_upper},
  };
  auto it = kTests.find(name);
  return it == kTests.end() ? nullptr : it->second;
}

}  // namespace enclave::jinja
