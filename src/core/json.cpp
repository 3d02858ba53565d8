#include "core/json.h"

#include <set>
#include <vector>

#include "core/error.h"
#include "core/file.h"

namespace enclave {

using nlohmann::json;

namespace {

template <typename Json>
Json parse_strict(std::string_view text, std::string_view what, JsonLimits limits) {
  // One set of seen keys per open object, so duplicates are caught at the
  // level they occur.
  std::vector<std::set<std::string>> keys;
  auto callback = [&](int depth, nlohmann::detail::parse_event_t event, Json& parsed) -> bool {
    switch (event) {
      case nlohmann::detail::parse_event_t::object_start:
      case nlohmann::detail::parse_event_t::array_start:
        if (depth >= limits.max_depth) {
          fail_input("{}: JSON nested deeper than {} levels", what, limits.max_depth);
        }
        if (event == nlohmann::detail::parse_event_t::object_start) keys.emplace_back();
        break;
      case nlohmann::detail::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case nlohmann::detail::parse_event_t::key: {
        const std::string& k = parsed.template get_ref<const std::string&>();
        if (!keys.empty() && !keys.back().insert(k).second) {
          fail_input("{}: duplicate JSON key '{}'", what, k);
        }
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true,
                       /*ignore_comments=*/false);
  } catch (const nlohmann::detail::parse_error& e) {
    fail_input("{}: invalid JSON: {}", what, e.what());
  } catch (const nlohmann::detail::out_of_range& e) {
    // A number past double's range ("1e400"); found by fuzz/json_fuzz.cpp.
    fail_input("{}: invalid JSON: {}", what, e.what());
  }
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
