// jinja/json_dumps: Python's json.dumps over template values, for the
// `tojson` filters (jinja2's and transformers').
// Thread safety: stateless functions.
#pragma once

#include <string>

#include "jinja/value.h"

namespace enclave::jinja {

// How json.dumps lays out its output.
struct JsonFormat {
  bool ensure_ascii = true;
  bool sort_keys = false;
  bool pretty = false;  // indent given: newlines and `indent` per level
  std::string indent;   // per level, when pretty
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  // json.dumps's defaults for these arguments (indent null: one line;
  // separators (",", ": ") when indented, (", ", ": ") otherwise).
  static JsonFormat python(bool ensure_ascii, bool sort_keys, const std::string* indent);
};

// json.dumps(v, ...) as Python's json module writes it. Sets *error to a
// reason (and returns "") for a value JSON cannot hold (Undefined, a macro).
std::string json_dumps(const Value& v, const JsonFormat& format, std::string* error);

}  // namespace enclave::jinja
