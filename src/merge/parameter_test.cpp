#include "merge/parameter.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace enclave::merge {
namespace {

using nlohmann::json;

TEST(Parameter, GradientInterpolatesLikeMergekit) {
  const std::vector<double> g = {0.0, 0.5, 0.3, 0.7, 1.0};
  EXPECT_DOUBLE_EQ(gradient_value(g, 0.0), 0.0);
  EXPECT_DOUBLE_EQ(gradient_value(g, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(gradient_value(g, 0.25), 0.5);     // exactly on anchor 1
  EXPECT_NEAR(gradient_value(g, 0.375), 0.4, 1e-12);  // halfway between 0.5 and 0.3
  EXPECT_DOUBLE_EQ(gradient_value({0.7}, 0.3), 0.7);
}

TEST(Parameter, FiltersPickTheFirstMatch) {
  const ParameterSetting s = parse_setting(
      json::parse(
          R"([{"filter": "self_attn", "value": [0, 1]}, {"filter": "mlp", "value": 0.25}, {"value": 0.5}])"),
      "m.yaml", "parameters.t");
  EXPECT_DOUBLE_EQ(*evaluate_setting(s, "model.layers.3.self_attn.q_proj.weight", 0.5), 0.5);
  EXPECT_DOUBLE_EQ(*evaluate_setting(s, "model.layers.3.self_attn.q_proj.weight", 1.0), 1.0);
  EXPECT_DOUBLE_EQ(*evaluate_setting(s, "model.layers.3.mlp.up_proj.weight", 0.0), 0.25);
  EXPECT_DOUBLE_EQ(*evaluate_setting(s, "model.norm.weight", 0.0), 0.5);
  const ParameterSetting no_fallback =
      parse_setting(json::parse(R"([{"filter": "mlp", "value": 1}])"), "m.yaml", "parameters.t");
  EXPECT_FALSE(evaluate_setting(no_fallback, "model.norm.weight", 0.0).has_value());
}

TEST(Parameter, LookupGoesFromSourceToSliceToTop) {
  Parameters source, top;
  source.numeric["weight"] = parse_setting(json(0.25), "m", "w");
  top.numeric["weight"] = parse_setting(json(1.0), "m", "w");
  top.numeric["density"] = parse_setting(json(0.5), "m", "d");
  EXPECT_DOUBLE_EQ(*lookup_parameter({&source, nullptr, &top}, "weight", "x", 0), 0.25);
  EXPECT_DOUBLE_EQ(*lookup_parameter({&source, nullptr, &top}, "density", "x", 0), 0.5);
  EXPECT_FALSE(lookup_parameter({&source, nullptr, &top}, "t", "x", 0).has_value());
}

void expect_error(const json& v, const std::string& needle) {
  try {
    parse_setting(v, "m.yaml", "models[0].parameters.weight");
    ADD_FAILURE() << "no error for " << v.dump();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("m.yaml: field 'models[0].parameters.weight"),
              std::string::npos)
        << e.what();
  }
}

TEST(Parameter, RejectsBadSettings) {
  expect_error(json("heavy"), "expected a number");
  expect_error(json::array(), "at least one value");
  expect_error(json::parse(R"([1, "x"])"), "expected a number");
  expect_error(json::parse(R"([{"filter": "mlp"}])"), "missing 'value'");
  expect_error(json::parse(R"([{"value": 1, "filtre": "mlp"}])"), "unknown key 'filtre'");
  expect_error(json::parse(R"([{"value": 1}, 2])"), "expected a condition");
  expect_error(json::parse(R"([{"filter": 3, "value": 1}])"), "expected a string");
  expect_error(json(std::numeric_limits<double>::infinity()), "not a finite number");
}

TEST(Parameter, RoundTripsThroughJson) {
  const json text = json::parse(R"([{"filter": "mlp", "value": [0.0, 1.0]}, {"value": 0.5}])");
  EXPECT_EQ(to_json(parse_setting(text, "m", "t")), text);
  EXPECT_EQ(to_json(parse_setting(json(0.5), "m", "t")), json(0.5));
}

}  // namespace
}  // namespace enclave::merge
