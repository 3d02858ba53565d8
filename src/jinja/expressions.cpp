// Renderer's expression evaluation: names, literals, attribute access,
// subscripts and slices, and Python's binary operators and comparisons.
// Arithmetic is Python's (int/int is float, // and % floor, str * int
// repeats, int overflow fails), and an Undefined fails in arithmetic and
// attribute access in every mode, in any use under strict_undefined
// (jinja2.StrictUndefined).
#include <cmath>

#include "core/error.h"
#include "jinja/builtins.h"
#include "jinja/pystr.h"
#include "jinja/renderer.h"

namespace enclave::jinja {

// Python's slice.indices(): clamps start/stop for a sequence of length n.
static std::vector<std::size_t> slice_indices(Renderer& r, std::int64_t n, const Value& start,
                                              const Value& stop, const Value& step) {
  auto as_int = [&](const Value& v, const char* what) -> std::int64_t {
    if (!v.is_integral()) {
      r.fail(std::string("slice ") + what + " must be an integer or None, not " + type_name(v));
    }
    return v.as_int();
  };
  std::int64_t st = step.is_none() || step.is_undefined() ? 1 : as_int(step, "step");
  if (st == 0) r.fail("slice step cannot be zero");
  std::int64_t lo, hi;
  if (st > 0) {
    lo = 0;
    hi = n;
  } else {
    lo = -1;
    hi = n - 1;
  }
  auto clamp = [&](const Value& v, std::int64_t def) {
    if (v.is_none() || v.is_undefined()) return def;
    std::int64_t i = as_int(v, "index");
    if (i < 0) {
      i += n;
      if (i < lo) i = lo;
    } else if (i > hi) {
      i = hi;
    }
    return i;
  };
  std::int64_t a = clamp(start, st > 0 ? lo : hi);
  std::int64_t b = clamp(stop, st > 0 ? hi : lo);
  std::vector<std::size_t> out;
  for (std::int64_t i = a; st > 0 ? i < b : i > b; i += st)
    out.push_back(static_cast<std::size_t>(i));
  return out;
}

Value Renderer::subscript(const Value& obj, const Node& key, const std::shared_ptr<Scope>& scope) {
  if (key.type != NodeType::kSlice) return get_item(*this, obj, eval(key, scope));
  Value start = key.a ? eval(*key.a, scope) : Value::none();
  Value stop = key.b ? eval(*key.b, scope) : Value::none();
  Value step = key.c ? eval(*key.c, scope) : Value::none();
  if (obj.is_list()) {
    const List& items = obj.items();
    List out;
    for (std::size_t i :
         slice_indices(*this, static_cast<std::int64_t>(items.size()), start, stop, step)) {
      out.push_back(items[i]);
    }
    return Value::list(std::move(out), obj.is_tuple());
  }
  if (obj.is_string()) {
    const std::string& s = obj.str();
    std::vector<std::size_t> offsets = cp_offsets(s);
    std::string out;
    for (std::size_t i :
         slice_indices(*this, static_cast<std::int64_t>(offsets.size() - 1), start, stop, step)) {
      out.append(s, offsets[i], offsets[i + 1] - offsets[i]);
    }
    return Value::string(std::move(out));
  }
  // jinja2 compiles slices to plain Python subscription (no environment
  // getitem), so slicing anything else is Python's TypeError.
  if (obj.is_dict()) fail("unhashable type: 'slice'");
  fail("'" + type_name(obj) + "' object is not subscriptable");
}

Value Renderer::eval(const Node& n, const std::shared_ptr<Scope>& scope) {
  const RenderDepth guard(*this);
  line_ = n.line;
  switch (n.type) {
    case NodeType::kConst:
      return n.value;
    case NodeType::kName:
      return lookup(n.name, scope);
    case NodeType::kGetattr: {
      Value obj = eval(*n.a, scope);
      line_ = n.line;
      check_defined(obj, true);
      return get_attr(*this, obj, n.name);
    }
    case NodeType::kGetitem: {
      Value obj = eval(*n.a, scope);
      line_ = n.line;
      check_defined(obj, true);
      return subscript(obj, *n.b, scope);
    }
    case NodeType::kCall: {
      Args args;
      if (n.a->type == NodeType::kGetattr) {
        Value obj = eval(*n.a->a, scope);
        line_ = n.line;
        check_defined(obj, true);
        eval_args(n, scope, args);
        line_ = n.line;
        bool found = false;
        Value v = call_method(*this, obj, n.a->name, args, &found);
        if (found) return v;
        return call(get_attr(*this, obj, n.a->name), args);
      }
      Value callee = eval(*n.a, scope);
      eval_args(n, scope, args);
      line_ = n.line;
      return call(callee, args);
    }
    case NodeType::kFilter: {
      Value v = eval(*n.a, scope);
      Args args;
      eval_args(n, scope, args);
      line_ = n.line;
      return n.filter(*this, v, args);
    }
    case NodeType::kTest: {
      Value v = eval(*n.a, scope);
      Args args;
      eval_args(n, scope, args);
      line_ = n.line;
      return Value::boolean(n.test(*this, v, args));
    }
    case NodeType::kNot: {
      Value v = eval(*n.a, scope);
      check_defined(v);
      return Value::boolean(!v.truthy());
    }
    case NodeType::kNeg:
    case NodeType::kPos: {
      Value v = eval(*n.a, scope);
      line_ = n.line;
      check_defined(v, true);
      if (!v.is_number()) {
        fail(fmt::format("bad operand type for unary {}: '{}'",
                         n.type == NodeType::kNeg ? '-' : '+', type_name(v)));
      }
      if (n.type == NodeType::kPos) return v.kind() == Kind::kBool ? Value::integer(v.as_int()) : v;
      if (v.kind() == Kind::kFloat) return Value::floating(-v.as_double());
      if (v.as_int() == INT64_MIN) fail("integer overflow");
      return Value::integer(-v.as_int());
    }
    case NodeType::kBinary: {
      Value a = eval(*n.a, scope);
      Value b = eval(*n.b, scope);
      line_ = n.line;
      return binary(n.name, a, b);
    }
    case NodeType::kAnd:
    case NodeType::kOr: {
      Value a = eval(*n.a, scope);
      check_defined(a);
      bool t = a.truthy();
      if (n.type == NodeType::kAnd ? !t : t) return a;
      return eval(*n.b, scope);
    }
    case NodeType::kCompare: {
      Value left = eval(*n.a, scope);
      for (std::size_t k = 0; k < n.ops.size(); ++k) {
        Value right = eval(*n.list[k], scope);
        line_ = n.line;
        if (!compare(n.ops[k], left, right)) return Value::boolean(false);
        left = std::move(right);
      }
      return Value::boolean(true);
    }
    case NodeType::kCondExpr: {
      Value c = eval(*n.a, scope);
      check_defined(c);
      if (c.truthy()) return eval(*n.b, scope);
      if (n.c) return eval(*n.c, scope);
      return Value::undefined(fmt::format(
          "the inline if-expression on line {} evaluated to false and no else section was defined.",
          n.line));
    }
    case NodeType::kList:
    case NodeType::kTuple: {
      List items;
      items.reserve(n.list.size());
      for (const auto& e : n.list) items.push_back(eval(*e, scope));
      return Value::list(std::move(items), n.type == NodeType::kTuple);
    }
    case NodeType::kDict: {
      Dict d;
      for (std::size_t k = 0; k + 1 < n.list.size(); k += 2) {
        Value key = eval(*n.list[k], scope);
        if (key.is_list() && !key.is_tuple()) fail("unhashable type: 'list'");
        if (key.is_dict()) fail("unhashable type: 'dict'");
        d.set(std::move(key), eval(*n.list[k + 1], scope));
      }
      return Value::dict(std::move(d));
    }
    default:
      fail("internal: not an expression");
  }
}

[[noreturn]] static void unsupported(const Renderer& r, const std::string& op, const Value& a,
                                     const Value& b) {
  r.fail(fmt::format("unsupported operand type(s) for {}: '{}' and '{}'", op, type_name(a),
                     type_name(b)));
}

template <typename Op>
static Value checked(Renderer& r, Op op, std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  if (op(a, b, &out)) r.fail("integer overflow");
  return Value::integer(out);
}

// Strings built by `+` and `~` count against max_output_bytes too, so a
// template that doubles a string in a loop stops before memory runs out.
Value Renderer::sized(Value v) const {
  if (v.str().size() > options_.max_output_bytes) {
    fail(fmt::format("string exceeds {} bytes (max_output_bytes)", options_.max_output_bytes));
  }
  return v;
}

Value Renderer::binary(const std::string& op, const Value& a, const Value& b) {
  if (op == "~") {
    check_defined(a);
    check_defined(b);
    std::string s;
    append_py_str(s, a);
    append_py_str(s, b);
    return sized(Value::string(std::move(s)));
  }
  check_defined(a, true);
  check_defined(b, true);
  bool ints = a.is_integral() && b.is_integral();
  bool nums = a.is_number() && b.is_number();
  switch (op[0]) {
    case '+':
      if (ints)
        return checked(
            *this,
            [](std::int64_t x, std::int64_t y, std::int64_t* o) {
              return __builtin_add_overflow(x, y, o);
            },
            a.as_int(), b.as_int());
      if (nums) return Value::floating(a.as_double() + b.as_double());
      if (a.is_string() && b.is_string()) {
        if (a.is_markup() || b.is_markup()) {
          // Markup.__add__ / __radd__ escape the plain side.
          return sized(Value::markup((a.is_markup() ? a.str() : html_escape(a.str())) +
                                     (b.is_markup() ? b.str() : html_escape(b.str()))));
        }
        return sized(Value::string(a.str() + b.str()));
      }
      if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
        count_iterations(b.items().size());
        List items = a.items();
        items.insert(items.end(), b.items().begin(), b.items().end());
        return Value::list(std::move(items), a.is_tuple());
      }
      if (a.is_string())
        fail(fmt::format("can only concatenate str (not \"{}\") to str", type_name(b)));
      unsupported(*this, op, a, b);
    case '-':
      if (ints)
        return checked(
            *this,
            [](std::int64_t x, std::int64_t y, std::int64_t* o) {
              return __builtin_sub_overflow(x, y, o);
            },
            a.as_int(), b.as_int());
      if (nums) return Value::floating(a.as_double() - b.as_double());
      unsupported(*this, op, a, b);
    case '*':
      if (op == "**") {
        if (!nums) unsupported(*this, op, a, b);
        if (ints && b.as_int() >= 0) {
          std::int64_t acc = 1;
          for (std::int64_t k = 0; k < b.as_int(); ++k) {
            if (__builtin_mul_overflow(acc, a.as_int(), &acc)) fail("integer overflow");
            if (acc == 0 || acc == 1) break;
          }
          return Value::integer(acc);
        }
        if (a.as_double() == 0.0 && b.as_double() < 0) {
          fail("0.0 cannot be raised to a negative power");
        }
        return Value::floating(std::pow(a.as_double(), b.as_double()));
      }
      if (ints)
        return checked(
            *this,
            [](std::int64_t x, std::int64_t y, std::int64_t* o) {
              return __builtin_mul_overflow(x, y, o);
            },
            a.as_int(), b.as_int());
      if (nums) return Value::floating(a.as_double() * b.as_double());
      if ((a.is_string() || a.is_list()) && b.is_integral()) {
        std::int64_t times = std::max<std::int64_t>(0, b.as_int());
        if (a.is_string()) {
          if (times > 0 &&
              a.str().size() > options_.max_output_bytes / static_cast<std::size_t>(times)) {
            fail("string repetition exceeds max_output_bytes");
          }
          std::string s;
          for (std::int64_t k = 0; k < times; ++k) s += a.str();
          return a.is_markup() ? Value::markup(std::move(s)) : Value::string(std::move(s));
        }
        List items;
        if (times > 0 &&
            a.items().size() > options_.max_loop_iterations / static_cast<std::size_t>(times)) {
          count_iterations(options_.max_loop_iterations + 1);
        }
        count_iterations(a.items().size() * static_cast<std::size_t>(times));
        for (std::int64_t k = 0; k < times; ++k) {
          items.insert(items.end(), a.items().begin(), a.items().end());
        }
        return Value::list(std::move(items), a.is_tuple());
      }
      if (a.is_integral() && (b.is_string() || b.is_list())) return binary(op, b, a);
      unsupported(*this, op, a, b);
    case '/':
      if (!nums) unsupported(*this, op, a, b);
      if (ints && a.as_int() == INT64_MIN && b.as_int() == -1) fail("integer overflow");
      if (b.as_double() == 0.0) fail(ints ? "division by zero" : "float division by zero");
      if (op == "/") return Value::floating(a.as_double() / b.as_double());
      if (ints) {
        std::int64_t q = a.as_int() / b.as_int();
        if ((a.as_int() % b.as_int() != 0) && ((a.as_int() < 0) != (b.as_int() < 0))) --q;
        return Value::integer(q);
      }
      return Value::floating(std::floor(a.as_double() / b.as_double()));
    case '%':
      if (a.is_markup()) {
        // Markup.__mod__ escapes the arguments (strings and string members).
        auto esc = [](const Value& x) {
          return x.is_string() && !x.is_markup() ? Value::markup(html_escape(x.str())) : x;
        };
        Value args = b;
        if (b.is_tuple()) {
          List items;
          for (const auto& x : b.items()) items.push_back(esc(x));
          args = Value::list(std::move(items), true);
        } else {
          args = esc(b);
        }
        return Value::markup(percent_format(*this, a.str(), args).str());
      }
      if (a.is_string()) return percent_format(*this, a.str(), b);
      if (!nums) unsupported(*this, op, a, b);
      if (b.as_double() == 0.0) fail(ints ? "integer division or modulo by zero" : "float modulo");
      if (ints && b.as_int() == -1) return Value::integer(0);
      if (ints) {
        std::int64_t m = a.as_int() % b.as_int();
        if (m != 0 && ((m < 0) != (b.as_int() < 0))) m += b.as_int();
        return Value::integer(m);
      } else {
        double m = std::fmod(a.as_double(), b.as_double());
        if (m != 0 && ((m < 0) != (b.as_double() < 0))) m += b.as_double();
        return Value::floating(m);
      }
    default:
      break;
  }
  unsupported(*this, op, a, b);
}

bool Renderer::compare(const std::string& op, const Value& a, const Value& b) {
  if (options_.strict_undefined) {
    check_defined(a);
    check_defined(b);
  }
  if (op == "==") return py_equal(a, b);
  if (op == "!=") return !py_equal(a, b);
  if (op == "in" || op == "notin") {
    bool found = false;
    if (b.is_string()) {
      if (!a.is_string()) {
        fail("'in <string>' requires string as left operand, not " + type_name(a));
      }
      found = b.str().find(a.str()) != std::string::npos;
    } else if (b.is_dict() || b.kind() == Kind::kNamespace) {
      if ((a.is_list() && !a.is_tuple()) || a.is_dict())
        fail("unhashable type: '" + type_name(a) + "'");
      found = b.dict().find(a) != nullptr;
    } else if (b.is_list()) {
      for (const auto& e : b.items()) {
        if (py_equal(a, e)) {
          found = true;
          break;
        }
      }
    } else if (!b.is_undefined()) {
      fail("argument of type '" + type_name(b) + "' is not iterable");
    }
    return op == "in" ? found : !found;
  }
  check_defined(a, true);
  check_defined(b, true);
  bool ok = true;
  bool result;
  if (op == "<") {
    result = py_less(a, b, &ok);
  } else if (op == ">") {
    result = py_less(b, a, &ok);
  } else if (op == "<=") {
    result = !py_less(b, a, &ok);
  } else {
    result = !py_less(a, b, &ok);
  }
  if (!ok) {
    fail(fmt::format("'{}' not supported between instances of '{}' and '{}'", op, type_name(a),
                     type_name(b)));
  }
  return result;
}

}  // namespace enclave::jinja
