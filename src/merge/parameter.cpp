#include "merge/parameter.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace enclave::merge {

using nlohmann::json;

double gradient_value(const std::vector<double>& values, double t) {
  ENCLAVE_CHECK(!values.empty());
  if (values.size() == 1) return values[0];
  const double scaled = std::clamp(t, 0.0, 1.0) * static_cast<double>(values.size() - 1);
  const std::size_t i0 = std::min(static_cast<std::size_t>(scaled), values.size() - 1);
  const std::size_t i1 = std::min(values.size() - 1, i0 + 1);
  const double frac = scaled - static_cast<double>(i0);
  return (1 - frac) * values[i0] + frac * values[i1];
}

std::optional<double> evaluate_setting(const ParameterSetting& setting,
                                       std::string_view tensor_name, double t) {
  for (const ParameterCondition& c : setting.conditions) {
    if (c.filter.empty() || c.filter == "*" ||
        tensor_name.find(c.filter) != std::string_view::npos) {
      return gradient_value(c.values, t);
    }
  }
  return std::nullopt;
}

namespace {

double parse_number(const json& v, std::string_view what, std::string_view field) {
  if (!v.is_number())
    fail_input("{}: field '{}': expected a number, got {}", what, field, v.type_name());
  const double d = v.get<double>();
  if (!std::isfinite(d)) fail_input("{}: field '{}': {} is not a finite number", what, field, d);
  return d;
}

std::vector<double> parse_values(const json& v, std::string_view what, std::string_view field) {
  if (v.is_number()) return {parse_number(v, what, field)};
  if (!v.is_array()) {
    fail_input("{}: field '{}': expected a number or a list of numbers (a gradient), got {}", what,
               field, v.type_name());
  }
  if (v.empty()) fail_input("{}: field '{}': a gradient needs at least one value", what, field);
  std::vector<double> out;
  for (std::size_t i = 0; i < v.size(); ++i)
    out.push_back(parse_number(v[i], what, fmt::format("{}[{}]", field, i)));
  return out;
}

ParameterCondition parse_condition(const json& v, std::string_view what, const std::string& field) {
  ParameterCondition c;
  for (const auto& [key, item] : v.items()) {
    if (key != "filter" && key != "value") {
      fail_input("{}: field '{}': unknown key '{}' (a condition has 'filter' and 'value')", what,
                 field, key);
    }
  }
  if (v.contains("filter") && !v["filter"].is_null()) {
    if (!v["filter"].is_string()) {
      fail_input("{}: field '{}.filter': expected a string, got {}", what, field,
                 v["filter"].type_name());
    }
    c.filter = v["filter"].get<std::string>();
  }
  if (!v.contains("value") || v["value"].is_null())
    fail_input("{}: field '{}': missing 'value'", what, field);
  c.values = parse_values(v["value"], what, field + ".value");
  return c;
}

}  // namespace

ParameterSetting parse_setting(const json& value, std::string_view what, std::string_view field) {
  ParameterSetting s;
  const std::string f(field);
  if (value.is_object()) {
    s.conditions.push_back(parse_condition(value, what, f));
  } else if (value.is_array() && !value.empty() && value[0].is_object()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      const std::string item = fmt::format("{}[{}]", f, i);
      if (!value[i].is_object()) {
        fail_input("{}: field '{}': expected a condition {{filter, value}}, got {}", what, item,
                   value[i].type_name());
      }
      s.conditions.push_back(parse_condition(value[i], what, item));
    }
  } else {
    s.conditions.push_back({"", parse_values(value, what, f)});
  }
  return s;
}

std::vector<double> all_values(const ParameterSetting& setting) {
  std::vector<double> out;
  for (const auto& c : setting.conditions) out.insert(out.end(), c.values.begin(), c.values.end());
  return out;
}

std::optional<double> lookup_parameter(const std::vector<const Parameters*>& levels,
                                       std::string_view name, std::string_view tensor_name,
                                       double t) {
  for (const Parameters* level : levels) {
    if (level == nullptr) continue;
    auto it = level->numeric.find(name);
    if (it == level->numeric.end()) continue;
    if (auto v = evaluate_setting(it->second, tensor_name, t)) return v;
  }
  return std::nullopt;
}

json to_json(const ParameterSetting& setting) {
  auto values_json = [](const std::vector<double>& v) {
    return v.size() == 1 ? json(v[0]) : json(v);
  };
  if (setting.conditions.size() == 1 && setting.conditions[0].filter.empty()) {
    return values_json(setting.conditions[0].values);
  }
  json out = json::array();
  for (const auto& c : setting.conditions) {
    json item = {{"value", values_json(c.values)}};
    if (!c.filter.empty()) item["filter"] = c.filter;
    out.push_back(item);
  }
  return out;
}

json to_json(const Parameters& parameters) {
  json out = json::object();
  for (const auto& [name, setting] : parameters.numeric) out[name] = to_json(setting);
  for (const auto& [name, on] : parameters.switches) out[name] = on;
  return out;
}

}  // namespace enclave::merge
