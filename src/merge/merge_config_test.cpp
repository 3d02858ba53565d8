#include "merge/merge_config.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/yaml.h"

namespace enclave::merge {
namespace {

MergeConfig parse(std::string_view yaml) {
  return parse_merge_config(parse_yaml(yaml, "merge.yaml"), "merge.yaml");
}

// The error message of a config that must be rejected; checks the kind.
std::string error_of(std::string_view yaml, ErrorKind kind = ErrorKind::kInvalidInput) {
  try {
    parse(yaml);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted:\n" << yaml;
  return "";
}

#define EXPECT_HAS(haystack, needle) \
  EXPECT_NE((haystack).find(needle), std::string::npos) << (haystack)

TEST(MergeConfig, ParsesTiesModelsForm) {
  const MergeConfig c = parse(R"(
models:
  - model: ./a
    parameters:
      density: [1, 0.7, 0.1]
      weight: 1.0
  - model: ./b
    parameters:
      density: 0.5
      weight:
        - filter: mlp
          value: 0.5
        - value: 0
merge_method: ties
base_model: ./base
parameters:
  normalize: true
  int8_mask: true
dtype: float16
)");
  EXPECT_EQ(c.method, MergeMethod::kTies);
  ASSERT_EQ(c.models.size(), 2u);
  EXPECT_EQ(c.models[0].model, "./a");
  EXPECT_EQ(c.models[0].parameters.numeric.at("density").conditions[0].values.size(), 3u);
  EXPECT_EQ(c.models[1].parameters.numeric.at("weight").conditions.size(), 2u);
  EXPECT_EQ(*c.base_model, "./base");
  EXPECT_TRUE(c.parameters.switches.at("normalize"));
  EXPECT_EQ(*c.dtype, DType::kF16);
  EXPECT_TRUE(c.slices.empty());
  // The recorded form parses back to the same config.
  const MergeConfig again = parse_merge_config(to_json(c), "recorded");
  EXPECT_EQ(to_json(again), to_json(c));
}

TEST(MergeConfig, ParsesSlerpAndPassthroughSlices) {
  const MergeConfig slerp = parse(R"(
slices:
  - sources:
      - model: a
        layer_range: [0, 4]
      - model: b
        layer_range: [0, 4]
merge_method: slerp
base_model: a
parameters:
  t:
    - filter: self_attn
      value: [0, 0.5, 0.3, 0.7, 1]
    - filter: mlp
      value: [1, 0.5, 0.7, 0.3, 0]
    - value: 0.5
dtype: bfloat16
)");
  EXPECT_EQ(slerp.method, MergeMethod::kSlerp);
  ASSERT_EQ(slerp.slices.size(), 1u);
  EXPECT_EQ(slerp.slices[0].sources[1].layer_range, std::pair(std::int64_t{0}, std::int64_t{4}));
  EXPECT_EQ(slerp.parameters.numeric.at("t").conditions.size(), 3u);

  const MergeConfig solar = parse(R"(
slices:
  - sources: [{model: m, layer_range: [0, 24]}]
  - sources: [{model: m, layer_range: [8, 32]}]
merge_method: passthrough
dtype: bfloat16
out_dtype: float32
)");
  EXPECT_EQ(solar.slices.size(), 2u);
  EXPECT_EQ(*solar.dtype, DType::kF32);  // out_dtype wins
}

TEST(MergeConfig, RejectsUnknownMethod) {
  const std::string e = error_of("merge_method: average\nmodels: [{model: a}]\n");
  EXPECT_HAS(e, "merge.yaml: field 'merge_method': unknown method 'average'");
  EXPECT_HAS(error_of("models: [{model: a}]\n"), "missing field 'merge_method'");
  EXPECT_HAS(error_of("merge_method: 3\nmodels: [{model: a}]\n"),
             "field 'merge_method': expected a string");
}

TEST(MergeConfig, RejectsMissingBaseModel) {
  for (const char* method : {"slerp", "ties", "dare_ties", "dare_linear", "task_arithmetic"}) {
    EXPECT_HAS(
        error_of(fmt::format("merge_method: {}\nmodels: [{{model: a}}, {{model: b}}]\n", method)),
        "field 'base_model': required");
  }
}

TEST(MergeConfig, RejectsModelsAndSlicesTogetherOrNeither) {
  EXPECT_HAS(error_of("merge_method: linear\n"), "found neither");
  EXPECT_HAS(error_of("merge_method: linear\nmodels: [{model: a}]\nslices: [{sources: [{model: a, "
                      "layer_range: [0, "
                      "1]}]}]\n"),
             "found both");
  EXPECT_HAS(error_of("merge_method: linear\nmodels: []\n"),
             "field 'models': expected a non-empty list");
  EXPECT_HAS(error_of("merge_method: linear\nslices: [{sources: []}]\n"),
             "field 'slices[0].sources'");
}

TEST(MergeConfig, RejectsBadLayerRanges) {
  auto with_range = [](const std::string& range) {
    return "merge_method: passthrough\nslices:\n  - sources:\n      - model: a\n        "
           "layer_range: " +
           range + "\n";
  };
  EXPECT_HAS(error_of(with_range("[4, 2]")),
             "field 'slices[0].sources[0].layer_range': end 2 must be greater");
  EXPECT_HAS(error_of(with_range("[-1, 2]")), "begin -1 is negative");
  EXPECT_HAS(error_of(with_range("[0, 2, 4]")), "expected two integers");
  EXPECT_HAS(error_of(with_range("[0.5, 2]")), "expected two integers");
  EXPECT_HAS(error_of(with_range("first")), "expected two integers");
  EXPECT_HAS(error_of("merge_method: passthrough\nslices: [{sources: [{model: a}]}]\n"),
             "missing 'layer_range'");
  EXPECT_HAS(error_of("merge_method: linear\nmodels: [{model: a, layer_range: [0, 2]}]\n"),
             "unknown field 'models[0].layer_range'");
}

TEST(MergeConfig, RejectsBadParameters) {
  EXPECT_HAS(
      error_of(
          "merge_method: ties\nbase_model: b\nmodels: [{model: a, parameters: {weight: 1, density: "
          "1.5}}]\n"),
      "field 'models[0].parameters.density': 1.5 is outside [0, 1]");
  EXPECT_HAS(
      error_of(
          "merge_method: ties\nbase_model: b\nmodels: [{model: a, parameters: {wieght: 1}}]\n"),
      "field 'models[0].parameters.wieght': unknown parameter for merge_method 'ties'");
  EXPECT_HAS(
      error_of("merge_method: linear\nmodels: [{model: a, parameters: {normalize: true}}]\n"),
      "top-level 'parameters'");
  EXPECT_HAS(error_of("merge_method: linear\nmodels: [{model: a}]\nparameters: {normalize: 1}\n"),
             "field 'parameters.normalize': expected true or false");
  EXPECT_HAS(error_of("merge_method: slerp\nbase_model: a\nmodels: [{model: a}, {model: "
                      "b}]\nparameters: {t: 2}\n"),
             "field 'parameters.t': 2 is outside [0, 1]");
  EXPECT_HAS(error_of("merge_method: linear\nmodels: [{model: a, parameters: [1]}]\n"),
             "field 'models[0].parameters': expected a mapping");
}

TEST(MergeConfig, RejectsUnknownAndUnsupportedFields) {
  EXPECT_HAS(error_of("merge_method: linear\nmodels: [{model: a}]\nmerge_mehtod: x\n"),
             "unknown field 'merge_mehtod'");
  EXPECT_HAS(error_of("merge_method: linear\nmodels: [{model: a}]\ndtype: int8\n"),
             "field 'dtype': 'int8' is not a storage dtype");
  EXPECT_HAS(error_of("merge_method: linear\nmodels: [{model: a}]\ntokenizer_source: union\n",
                      ErrorKind::kUnsupported),
             "field 'tokenizer_source': 'union'");
  EXPECT_HAS(error_of("merge_method: linear\nmodules: {}\n", ErrorKind::kUnsupported),
             "field 'modules'");
  EXPECT_HAS(error_of("merge_method: linear\nmodels: [{model: ''}]\n"),
             "field 'models[0].model': must not be empty");
  EXPECT_HAS(error_of("merge_method: linear\nmodels: [{parameters: {weight: 1}}]\n"),
             "missing 'model'");
  EXPECT_HAS(error_of("- merge_method: linear\n"), "expected a mapping at the top level");
}

TEST(MergeConfig, DtypeNames) {
  EXPECT_EQ(storage_dtype_from_name("bf16"), DType::kBF16);
  EXPECT_EQ(storage_dtype_from_name("float16"), DType::kF16);
  EXPECT_EQ(storage_dtype_from_name("fp32"), DType::kF32);
  EXPECT_FALSE(storage_dtype_from_name("int8").has_value());
  EXPECT_EQ(torch_dtype_name(DType::kBF16), "bfloat16");
}

}  // namespace
}  // namespace enclave::merge
