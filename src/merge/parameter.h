// Merge parameters as mergekit writes them, and their value for one tensor.
// A numeric setting is one of
//   0.5                         a constant
//   [0, 0.5, 1]                 a gradient: anchors spread evenly over the
//                               layers of a slice, linearly interpolated
//   [{filter: self_attn, value: [0, 1]}, {value: 0.5}]
//                               conditions: the first whose filter is a
//                               substring of the tensor name (or has no
//                               filter, or "*") gives the value
// and is looked up the way mergekit's ConfigReader does: the source's own
// parameters, then the slice's, then the top-level ones.
// Thread safety: plain values; functions are stateless.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace enclave::merge {

struct ParameterCondition {
  std::string filter;          // empty or "*": matches every tensor
  std::vector<double> values;  // one value = constant; more = gradient
};

struct ParameterSetting {
  std::vector<ParameterCondition> conditions;  // a constant or gradient is one unfiltered condition
};

// Numeric settings and on/off switches (normalize, rescale) of one level.
struct Parameters {
  std::map<std::string, ParameterSetting, std::less<>> numeric;
  std::map<std::string, bool, std::less<>> switches;
};

// The value of a gradient at position t in [0, 1] (mergekit's
// evaluate_setting: position t * (n - 1), linear between neighbours).
double gradient_value(const std::vector<double>& values, double t);

// The value of a setting for `tensor_name` at gradient position t; nullopt
// when no condition matches.
std::optional<double> evaluate_setting(const ParameterSetting& setting,
                                       std::string_view tensor_name, double t);

// Parses one setting. `field` names it in errors ("merge.yaml: field
// 'models[0].parameters.weight': ..."). Values must be finite numbers; an
// empty list, a condition without `value`, or an unknown key in a condition
// is an error (kInvalidInput).
ParameterSetting parse_setting(const nlohmann::json& value, std::string_view what,
                               std::string_view field);

// Every number a setting can produce (for range checks).
std::vector<double> all_values(const ParameterSetting& setting);

// The first level (most specific first) that holds `name` and whose
// conditions match; nullopt if none does.
std::optional<double> lookup_parameter(const std::vector<const Parameters*>& levels,
                                       std::string_view name, std::string_view tensor_name,
                                       double t);

nlohmann::json to_json(const ParameterSetting& setting);
nlohmann::json to_json(const Parameters& parameters);

}  // namespace enclave::merge
