#include "core/json.h"

#include <vector>

#include "core/error.h"
#include "core/file.h"

namespace enclave {

using nlohmann::json;

namespace {

// Builds the document as nlohmann's own DOM parser does, refusing a
// duplicate key where it occurs and nesting past the limit. A SAX handler
// rather than the parser's callback: a published tokenizer.json has 1M+
// values, and the callback form costs a std::function call and a kept-or-
// discarded decision on each.
template <typename Json>
class StrictDomBuilder {
 public:
  using string_t = typename Json::string_t;

  StrictDomBuilder(Json& root, std::string_view what, int max_depth)
      : root_(root), what_(what), max_depth_(max_depth) {}

  bool null() { return value(nullptr); }
  bool boolean(bool v) { return value(v); }
  bool number_integer(typename Json::number_integer_t v) { return value(v); }
  bool number_unsigned(typename Json::number_unsigned_t v) { return value(v); }
  bool number_float(typename Json::number_float_t v, const string_t&) { return value(v); }
  bool string(string_t& v) { return value(std::move(v)); }
  bool binary(typename Json::binary_t& v) { return value(std::move(v)); }
  bool start_object(std::size_t) { return open(Json::value_t::object); }
  bool start_array(std::size_t) { return open(Json::value_t::array); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(string_t& k) {
    auto& members = stack_.back()->template get_ref<typename Json::object_t&>();
    auto [it, inserted] = members.emplace(std::move(k), Json());
    if (!inserted) fail_input("{}: duplicate JSON key '{}'", what_, it->first);
    member_ = &it->second;
    return true;
  }
  template <typename Exception>
  bool parse_error(std::size_t, const std::string&, const Exception& e) {
    throw e;
  }

 private:
  template <typename V>
  Json* place(V&& v) {
    if (stack_.empty()) {
      root_ = Json(std::forward<V>(v));
      return &root_;
    }
    Json& top = *stack_.back();
    if (top.is_array()) {
      top.emplace_back(std::forward<V>(v));
      return &top.back();
    }
    *member_ = Json(std::forward<V>(v));
    return member_;
  }
  template <typename V>
  bool value(V&& v) {
    place(std::forward<V>(v));
    return true;
  }
  bool open(typename Json::value_t type) {
    if (static_cast<int>(stack_.size()) >= max_depth_)
      fail_input("{}: JSON nested deeper than {} levels", what_, max_depth_);
    stack_.push_back(place(type));
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  Json& root_;
  std::string_view what_;
  int max_depth_;
  std::vector<Json*> stack_;
  Json* member_ = nullptr;
};

template <typename Json>
Json parse_strict(std::string_view text, std::string_view what, JsonLimits limits) {
  Json parsed;
  StrictDomBuilder<Json> builder(parsed, what, limits.max_depth);
  try {
    Json::sax_parse(text.begin(), text.end(), &builder, nlohmann::detail::input_format_t::json,
                    /*strict=*/true, /*ignore_comments=*/false);
  } catch (const nlohmann::detail::parse_error& e) {
    fail_input("{}: invalid JSON: {}", what, e.what());
  } catch (const nlohmann::detail::out_of_range& e) {
    // A number past double's range ("1e400"); found by fuzz/json_fuzz.cpp.
    fail_input("{}: invalid JSON: {}", what, e.what());
  }
  return parsed;
}

}  // namespace

json parse_json(std::string_view text, std::string_view what, JsonLimits limits) {
  return parse_strict<json>(text, what, limits);
}

nlohmann::ordered_json parse_ordered_json(std::string_view text, std::string_view what,
                                          JsonLimits limits) {
  return parse_strict<nlohmann::ordered_json>(text, what, limits);
}

json read_json_file(const std::filesystem::path& path, JsonLimits limits) {
  return parse_json(read_file(path, std::uint64_t{1} << 30), path.string(), limits);
}

nlohmann::ordered_json read_ordered_json_file(const std::filesystem::path& path,
                                              JsonLimits limits) {
  return parse_ordered_json(read_file(path, std::uint64_t{1} << 30), path.string(), limits);
}

std::string json_type_name(const json& value) { return value.type_name(); }

namespace {

const json* find_field(const json& obj, std::string_view key, std::string_view what) {
  if (!obj.is_object()) fail_input("{}: expected a JSON object, got {}", what, obj.type_name());
  auto it = obj.find(std::string(key));
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

const json& require_field(const json& obj, std::string_view key, std::string_view what) {
  const json* v = find_field(obj, key, what);
  if (v == nullptr) fail_input("{}: missing field '{}'", what, key);
  return *v;
}

std::int64_t as_int(const json& v, std::string_view key, std::string_view what) {
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) {
      fail_input("{}: field '{}': integer {} out of range", what, key, u);
    }
    return static_cast<std::int64_t>(u);
  }
  fail_input("{}: field '{}': expected an integer, got {}", what, key, v.type_name());
}

double as_number(const json& v, std::string_view key, std::string_view what) {
  if (v.is_number()) return v.get<double>();
  fail_input("{}: field '{}': expected a number, got {}", what, key, v.type_name());
}

}  // namespace

std::int64_t json_int(const json& obj, std::string_view key, std::string_view what) {
  return as_int(require_field(obj, key, what), key, what);
}
std::int64_t json_int(const json& obj, std::string_view key, std::string_view what,
                      std::int64_t fallback) {
  const json* v = find_field(obj, key, what);
  return v == nullptr ? fallback : as_int(*v, key, what);
}
double json_number(const json& obj, std::string_view key, std::string_view what) {
  return as_number(require_field(obj, key, what), key, what);
}
double json_number(const json& obj, std::string_view key, std::string_view what, double fallback) {
  const json* v = find_field(obj, key, what);
  return v == nullptr ? fallback : as_number(*v, key, what);
}
std::string json_string(const json& obj, std::string_view key, std::string_view what) {
  const json& v = require_field(obj, key, what);
  if (!v.is_string())
    fail_input("{}: field '{}': expected a string, got {}", what, key, v.type_name());
  return v.get<std::string>();
}
std::string json_string(const json& obj, std::string_view key, std::string_view what,
                        std::string fallback) {
  const json* v = find_field(obj, key, what);
  if (v == nullptr) return fallback;
  if (!v->is_string())
    fail_input("{}: field '{}': expected a string, got {}", what, key, v->type_name());
  return v->get<std::string>();
}
bool json_bool(const json& obj, std::string_view key, std::string_view what, bool fallback) {
  const json* v = find_field(obj, key, what);
  if (v == nullptr) return fallback;
  if (!v->is_boolean())
    fail_input("{}: field '{}': expected true or false, got {}", what, key, v->type_name());
  return v->get<bool>();
}

}  // namespace enclave
