// jinja/value: the values a template computes with, modelled on the Python
// objects jinja2 hands around (None, bool, int, float, str, list, tuple, dict,
// Undefined, callables, namespace() objects, the loop object), with Python's
// printing (str/repr), equality, ordering and truthiness, so that output is
// byte-identical to jinja2's. Strings are UTF-8; anything Python counts in
// code points (len, slicing, indexing) is counted in code points here too.
// Thread safety: a Value is a small handle; lists, dicts and namespaces are
// shared between copies as Python shares objects, so a Value is confined to
// the render that made it (no sharing across threads).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace enclave::jinja {

class Value;
class Renderer;

enum class Kind : std::uint8_t {
  kUndefined,
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kList,  // also tuples (Value::tuple)
  kDict,
  kNamespace,  // jinja2's namespace(): attributes assignable with {% set ns.x = ... %}
  kCallable,   // macros, built-in functions, bound methods
  kLoop,       // the `loop` variable of a for loop
};

using List = std::vector<Value>;

// A Python dict: keys in insertion order, looked up by Python equality.
struct Dict {
  std::vector<std::pair<Value, Value>> items;
  int depth = 0;  // the deepest key's or value's Value::depth(), kept by set()
  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  void set(Value key, Value value);
};

// Call arguments: positional, then keyword in source order.
struct Args {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
};

struct Callable {
  std::string name;
  std::function<Value(Renderer&, Args&)> call;
};

struct LoopState;

class Value {
 public:
  Value() = default;  // Undefined
  static Value none();
  static Value boolean(bool b);
  static Value integer(std::int64_t i);
  static Value floating(double f);
  static Value string(std::string s);
  // markupsafe.Markup: a str that `|e` leaves alone and whose `+` and `%`
  // escape the plain strings they take in (what |e, |safe and jinja2's own
  // |tojson return).
  static Value markup(std::string s);
  static Value list(List items, bool tuple = false);
  // jinja2's _GroupTuple (groupby's items): a (grouper, list) tuple whose
  // parts are also the attributes `grouper` and `list`.
  static Value group_tuple(Value grouper, Value list);
  static Value dict(Dict d);
  static Value new_namespace(Dict attributes);
  static Value callable(std::string name, std::function<Value(Renderer&, Args&)> fn);
  static Value loop(std::shared_ptr<LoopState> state);
  // An undefined value; `hint` says why ("'x' is undefined") for strict mode
  // and for errors when it is used. `unsafe` marks an attribute the sandbox
  // refuses: calling it is a security error.
  static Value undefined(std::string hint, bool unsafe = false);
  // Throws Error(kInvalidInput) for JSON nested deeper than kMaxJsonDepth.
  static Value from_json(const nlohmann::ordered_json& j, int depth = 0);
  static constexpr int kMaxJsonDepth = 256;
  // Nesting of lists, dicts and namespaces (0 for anything else). A
  // template can nest values in a loop ({% set ns.x = [ns.x] %}), and
  // printing, comparing, tojson and destroying a value recurse over it, so
  // making one deeper than kMaxDepth throws Error(kInvalidInput) (a stack
  // overflow found by fuzz/jinja_fuzz.cpp).
  static constexpr int kMaxDepth = 512;
  int depth() const;

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_markup() const { return kind_ == Kind::kString && markup_; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_tuple() const { return kind_ == Kind::kList && tuple_; }
  bool is_group_tuple() const { return kind_ == Kind::kList && group_; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  // bool counts as a number, as Python's bool subclasses int.
  bool is_number() const {
    return kind_ == Kind::kInt || kind_ == Kind::kFloat || kind_ == Kind::kBool;
  }
  bool is_integral() const { return kind_ == Kind::kInt || kind_ == Kind::kBool; }
  bool is_unsafe_undefined() const { return kind_ == Kind::kUndefined && num_.i == 1; }

  bool as_bool() const { return num_.i != 0; }
  std::int64_t as_int() const { return num_.i; }  // kInt, kBool
  double as_double() const { return kind_ == Kind::kFloat ? num_.f : static_cast<double>(num_.i); }
  const std::string& str() const { return s_; }  // kString; the hint of an Undefined
  List& items() const { return *static_cast<List*>(ptr_.get()); }
  Dict& dict() const { return *static_cast<Dict*>(ptr_.get()); }  // kDict, kNamespace
  Callable& fn() const { return *static_cast<Callable*>(ptr_.get()); }
  LoopState& loop_state() const { return *static_cast<LoopState*>(ptr_.get()); }
  const void* identity() const { return ptr_.get(); }

  // Python truthiness (Undefined is false).
  bool truthy() const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool tuple_ = false;
  bool group_ = false;
  bool markup_ = false;
  std::uint16_t depth_ = 0;  // lists and dicts; a namespace's is its Dict's
  union {
    std::int64_t i;
    double f;
  } num_{0};
  std::string s_;
  std::shared_ptr<void> ptr_;
};

// Python's str(v) as jinja2 prints it ("" for Undefined, "None", "True",
// "[1, 'a']", "{'k': 1.5}").
std::string py_str(const Value& v);
void append_py_str(std::string& out, const Value& v);
// Python's repr(v).
std::string py_repr(const Value& v);
void append_py_repr(std::string& out, const Value& v);
// Python's repr of a float ("1.0", "1e+16", "0.30000000000000004").
std::string float_repr(double f);
// The type name Python would print in an error ("str", "list", "dict").
std::string type_name(const Value& v);

// Python `a == b` (1 == 1.0 == True; lists and dicts element-wise).
bool py_equal(const Value& a, const Value& b);
// Python ordering for `<`: sets *ok to false when the types cannot be ordered.
bool py_less(const Value& a, const Value& b, bool* ok);

// --- UTF-8, counted in code points as Python counts str ---
std::size_t cp_length(std::string_view s);
std::vector<std::size_t> cp_offsets(std::string_view s);  // byte offset of each cp, then size
char32_t cp_decode(std::string_view s, std::size_t& pos);
void cp_append(std::string& out, char32_t cp);
bool py_isspace(char32_t cp);

}  // namespace enclave::jinja
