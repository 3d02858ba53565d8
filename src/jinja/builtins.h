// jinja/builtins: jinja2's filters, tests and global functions, Python's
// str/dict/list methods as templates call them, and attribute and item
// lookup with the sandbox's refusals (no mutating list/dict methods, no
// underscore attributes).
// Thread safety: stateless; each call works on one render's values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "jinja/ast.h"
#include "jinja/value.h"

namespace enclave::jinja {

// nullptr when jinja2 has no filter or test of that name.
FilterFn find_filter(std::string_view name);
TestFn find_test(std::string_view name);

// jinja2's environment.getattr (`a.b`: attribute, then item) and getitem
// (`a[b]`: item, then attribute). Missing ones are Undefined; an attribute
// the sandbox refuses is an unsafe Undefined (calling it fails).
Value get_attr(Renderer& r, const Value& obj, const std::string& name);
Value get_item(Renderer& r, const Value& obj, const Value& key);

// obj.name(args) for Python's str/dict/list methods and the loop object.
// *found is false when obj has no such method.
Value call_method(Renderer& r, const Value& obj, const std::string& name, Args& args, bool* found);

// The global functions (range, namespace, dict, and with transformers'
// settings raise_exception, strftime_now); Undefined when there is none.
Value global_function(Renderer& r, const std::string& name);

// The decimal digits `digits` as a number, saturating at `cap` (field
// numbers, widths and precisions written in templates).
std::int64_t parse_digits(std::string_view digits, std::int64_t cap = 1'000'000'000);

// str(v) for a filter's text argument (strict mode: an Undefined fails).
std::string text_of(Renderer& r, const Value& v);

// format(v, spec): Python's format-spec mini-language for str.format.
std::string apply_format_spec(Renderer& r, const Value& v, std::string_view spec);

// Python `a % b` on a str (printf-style formatting).
Value percent_format(Renderer& r, const std::string& format, const Value& args);

}  // namespace enclave::jinja
