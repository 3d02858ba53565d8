// Planning a merge against real tiny models: per-tensor parameters
// (gradients over layers, filters), and every compatibility check that
// must stop a merge before anything is written, each error naming the
// config field or the model and tensor.
#include "merge/plan.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "core/yaml.h"
#include "merge/merge_test_util.h"
#include "model/init.h"

namespace enclave::merge {
namespace {

namespace fs = std::filesystem;
using testing::ScratchDir;

#define EXPECT_HAS(haystack, needle) \
  EXPECT_NE((haystack).find(needle), std::string::npos) << (haystack)

class PlanTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir("plan");
    testing::make_tiny_model(*dir_ / "a", 1);
    testing::make_tiny_model(*dir_ / "b", 2);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  // The config text with $a, $b and $c standing for the model directories.
  static std::string with_models(const std::string& yaml) {
    return testing::with_model_dirs(yaml, dir_->path(), {"a", "b", "c"});
  }

  static MergePlan plan(const std::string& yaml) {
    return plan_merge(parse_merge_config(parse_yaml(with_models(yaml), "merge.yaml"), "merge.yaml"),
                      {}, "merge.yaml");
  }

  // The message of a plan that must fail; checks the error kind.
  static std::string error_of(const std::string& yaml, ErrorKind kind = ErrorKind::kInvalidInput) {
    try {
      plan(yaml);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), kind) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "planned:\n" << yaml;
    return "";
  }

  // A copy of model A as `name` with config.json fields replaced.
  static void variant(const std::string& name, const nlohmann::json& patch) {
    const fs::path dir = *dir_ / name;
    fs::remove_all(dir);
    testing::copy_model(*dir_ / "a", dir);
    nlohmann::json config = read_json_file(dir / "config.json");
    config.merge_patch(patch);
    write_file_atomic(dir / "config.json", config.dump(2));
  }

  static const PlannedTensor& tensor(const MergePlan& p, const std::string& name) {
    for (const PlannedTensor& t : p.tensors) {
      if (t.name == name) return t;
    }
    throw std::runtime_error("no planned tensor " + name);
  }

  static ScratchDir* dir_;
};

ScratchDir* PlanTest::dir_ = nullptr;

TEST_F(PlanTest, TiesPlanCoversEveryTensorWithBothModels) {
  const MergePlan p = plan(R"(
merge_method: ties
base_model: $a
models:
  - model: $a
  - model: $b
    parameters: {weight: 0.7, density: 0.4}
)");
  ASSERT_EQ(p.models.size(), 2u);
  EXPECT_EQ(p.base, 0u);
  EXPECT_EQ(p.out_config.n_layer, 4);
  EXPECT_EQ(p.tensors.size(), parameter_shapes(p.out_config).size());
  EXPECT_TRUE(p.normalize);  // ties normalises by default, as mergekit
  const PlannedTensor& q = tensor(p, "model.layers.2.self_attn.q_proj.weight");
  ASSERT_EQ(q.sources.size(), 2u);
  EXPECT_TRUE(q.sources[0].is_base);
  EXPECT_DOUBLE_EQ(q.sources[1].weight, 0.7);
  EXPECT_DOUBLE_EQ(q.sources[1].density, 0.4);
  EXPECT_EQ(q.dtype, DType::kF32);  // the base's dtype when the config names none
  EXPECT_EQ(p.tokenizer_dir, *dir_ / "a");
}

TEST_F(PlanTest, GradientsSpreadOverLayersEmbeddingsAtStartHeadAtEnd) {
  const MergePlan p = plan(R"(
merge_method: linear
models:
  - model: $a
    parameters: {weight: [0, 1]}
  - model: $b
    parameters: {weight: [1, 0.5, 0]}
dtype: bfloat16
)");
  auto weights = [&](const std::string& name) {
    const PlannedTensor& t = tensor(p, name);
    return std::pair{t.sources[0].weight, t.sources[1].weight};
  };
  // 4 layers: t = 0, 1/3, 2/3, 1.
  EXPECT_EQ(weights("model.layers.0.mlp.up_proj.weight"), std::pair(0.0, 1.0));
  const auto [a1, b1] = weights("model.layers.1.mlp.up_proj.weight");
  EXPECT_NEAR(a1, 1.0 / 3, 1e-12);
  EXPECT_NEAR(b1, 1.0 - 1.0 / 3, 1e-12);  // between 1 and 0.5 at 2/3 of the way
  EXPECT_EQ(weights("model.layers.3.mlp.up_proj.weight"), std::pair(1.0, 0.0));
  EXPECT_EQ(weights("model.embed_tokens.weight"), std::pair(0.0, 1.0));
  EXPECT_EQ(weights("model.norm.weight"), std::pair(1.0, 0.0));
  EXPECT_EQ(tensor(p, "model.norm.weight").dtype, DType::kBF16);
  EXPECT_EQ(p.out_config_json["torch_dtype"], "bfloat16");
}

TEST_F(PlanTest, SlerpTakesTPerTensorGroupAndLayer) {
  const MergePlan p = plan(R"(
merge_method: slerp
base_model: $a
slices:
  - sources:
      - {model: $a, layer_range: [0, 4]}
      - {model: $b, layer_range: [0, 4]}
parameters:
  t:
    - filter: self_attn
      value: [0, 1]
    - filter: mlp
      value: 0.25
    - value: 0.5
)");
  EXPECT_DOUBLE_EQ(tensor(p, "model.layers.0.self_attn.k_proj.weight").t, 0.0);
  EXPECT_DOUBLE_EQ(tensor(p, "model.layers.3.self_attn.k_proj.weight").t, 1.0);
  EXPECT_NEAR(tensor(p, "model.layers.2.self_attn.k_proj.weight").t, 2.0 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(tensor(p, "model.layers.1.mlp.down_proj.weight").t, 0.25);
  EXPECT_DOUBLE_EQ(tensor(p, "model.layers.1.input_layernorm.weight").t, 0.5);
}

TEST_F(PlanTest, SlicesStackLayersUnderNewNames) {
  const MergePlan p = plan(R"(
merge_method: passthrough
slices:
  - sources: [{model: $a, layer_range: [0, 3]}]
  - sources: [{model: $b, layer_range: [1, 4]}]
)");
  EXPECT_EQ(p.out_config.n_layer, 6);
  EXPECT_EQ(p.out_config_json["num_hidden_layers"], 6);
  const PlannedTensor& l4 = tensor(p, "model.layers.4.mlp.gate_proj.weight");
  ASSERT_EQ(l4.sources.size(), 1u);
  EXPECT_EQ(l4.sources[0].model, 1u);
  EXPECT_EQ(l4.sources[0].ref->info->name, "model.layers.2.mlp.gate_proj.weight");
  EXPECT_EQ(tensor(p, "model.layers.2.mlp.gate_proj.weight").sources[0].ref->info->name,
            "model.layers.2.mlp.gate_proj.weight");
  EXPECT_EQ(tensor(p, "model.norm.weight").sources[0].model, 1u);  // from the last slice
}

TEST_F(PlanTest, RejectsMismatchedArchitectures) {
  variant("c", {{"architectures", {"MistralForCausalLM"}}, {"model_type", "mistral"}});
  std::string e = error_of(
      "merge_method: linear\nmodels: [{model: $a, parameters: {weight: 1}}, "
      "{model: $c, parameters: {weight: 1}}]\n");
  EXPECT_HAS(e, "is not compatible with");
  EXPECT_HAS(e, "field 'architectures'");
  EXPECT_HAS(e, "MistralForCausalLM");
  variant("c", {{"hidden_size", 128}, {"head_dim", 16}});
  e = error_of(
      "merge_method: ties\nbase_model: $a\nmodels: [{model: $c, parameters: {weight: 1}}]\n");
  EXPECT_HAS(e, "field 'hidden_size' is 128 in the first but 256 in the second");
}

TEST_F(PlanTest, RejectsMismatchedTensorShapesAndMissingTensors) {
  // config.json says tiny, the weights were written for a narrower MLP.
  const fs::path c = *dir_ / "c";
  fs::remove_all(c);
  testing::copy_model(*dir_ / "a", c);
  ModelConfig narrow = preset_config("tiny");
  narrow.intermediate_size = 512;
  write_random_weights(narrow, c / "model.safetensors", 3);
  std::string e = error_of(
      "merge_method: linear\nmodels: [{model: $a, parameters: {weight: 1}}, "
      "{model: $c, parameters: {weight: 1}}]\n");
  EXPECT_HAS(e, "tensor 'model.layers.0.mlp.gate_proj.weight'");
  EXPECT_HAS(e, "has shape [512, 256], expected [688, 256]");

  ModelConfig shallow = preset_config("tiny");
  shallow.n_layer = 3;
  write_random_weights(shallow, c / "model.safetensors", 3);
  e = error_of(
      "merge_method: linear\nmodels: [{model: $a, parameters: {weight: 1}}, "
      "{model: $c, parameters: {weight: 1}}]\n",
      ErrorKind::kNotFound);
  EXPECT_HAS(e, "has no tensor 'model.layers.3.");
  EXPECT_HAS(e, "models[1]");
}

TEST_F(PlanTest, RejectsDifferentTokenizersUnlessTokenizerSourceIsGiven) {
  const fs::path c = *dir_ / "c";
  fs::remove_all(c);
  testing::copy_model(*dir_ / "b", c);
  std::string tok = read_file(c / "tokenizer.json");
  const std::string eos = "<|end_of_text|>";
  ASSERT_NE(tok.find(eos), std::string::npos);
  tok.replace(tok.find(eos), eos.size(), "<|eot_id|>");
  write_file_atomic(c / "tokenizer.json", tok);

  const std::string models =
      "models: [{model: $a, parameters: {weight: 1}}, {model: $c, parameters: {weight: 1}}]\n";
  std::string e = error_of("merge_method: linear\n" + models);
  EXPECT_HAS(e, "tokenizers of");
  EXPECT_HAS(e, "field 'tokenizer_source'");

  EXPECT_EQ(plan("merge_method: linear\ntokenizer_source: $c\n" + models).tokenizer_dir, c);
  EXPECT_EQ(
      plan("merge_method: linear\nbase_model: $a\ntokenizer_source: base\n" + models).tokenizer_dir,
      *dir_ / "a");
  e = error_of("merge_method: linear\ntokenizer_source: base\n" + models);
  EXPECT_HAS(e, "field 'tokenizer_source': 'base' needs a base_model");
  e = error_of(
      "merge_method: linear\ntokenizer_source: " + (*dir_ / "missing").string() + "\n" + models,
      ErrorKind::kNotFound);
  EXPECT_HAS(e, "field 'tokenizer_source'");
  // A folder with no tokenizer cannot be the source.
  fs::create_directories(*dir_ / "empty");
  write_file_atomic(*dir_ / "empty" / "config.json", read_file(*dir_ / "a" / "config.json"));
  e = error_of("merge_method: linear\ntokenizer_source: " + (*dir_ / "empty").string() + "\n" +
               models);
  EXPECT_HAS(e, "has no tokenizer.json or tokenizer.model");
}

TEST_F(PlanTest, RejectsBadLayerRanges) {
  std::string e = error_of(
      "merge_method: passthrough\nslices: [{sources: [{model: $a, layer_range: [2, 9]}]}]\n");
  EXPECT_HAS(e, "field 'slices[0].sources[0].layer_range': end 9 is past the 4 layers");
  e = error_of(
      "merge_method: linear\nslices: [{sources: [{model: $a, layer_range: [0, 2], parameters: "
      "{weight: 1}}, "
      "{model: $b, layer_range: [0, 3], parameters: {weight: 1}}]}]\n");
  EXPECT_HAS(e, "field 'slices[0].sources[1].layer_range': covers 3 layers");
}

TEST_F(PlanTest, RejectsWrongSourceCountsAndMissingBase) {
  const std::string slice2 =
      "slices: [{sources: [{model: $a, layer_range: [0, 4]}, {model: $b, layer_range: [0, 4]}]}]\n";
  EXPECT_HAS(error_of("merge_method: passthrough\n" + slice2),
             "passthrough takes exactly one source");
  variant("c", nlohmann::json::object());
  EXPECT_HAS(error_of("merge_method: slerp\nbase_model: $a\nparameters: {t: 0.5}\nmodels: [{model: "
                      "$a}, {model: $b}, "
                      "{model: $c}]\n"),
             "slerp takes exactly two models");
  EXPECT_HAS(error_of("merge_method: ties\nbase_model: $a\nslices: [{sources: [{model: $b, "
                      "layer_range: [0, 4], "
                      "parameters: {weight: 1}}]}]\n"),
             "must include the base_model");
  EXPECT_HAS(error_of("merge_method: slerp\nbase_model: $a\nmodels: [{model: $a}, {model: $b}]\n"),
             "field 'parameters.t': no value for tensor");
  EXPECT_HAS(
      error_of(
          "merge_method: linear\nmodels: [{model: $a, parameters: {weight: 1}}, {model: $b}]\n"),
      "field 'models[1]': no 'weight' for tensor");
}

TEST_F(PlanTest, RejectsModelsOfDifferentDepthAndMissingModels) {
  ModelConfig deeper = preset_config("tiny");
  deeper.n_layer = 5;
  fs::remove_all(*dir_ / "c");
  testing::make_model(*dir_ / "c", deeper, 4);
  EXPECT_HAS(error_of("merge_method: linear\nmodels: [{model: $a, parameters: {weight: 1}}, "
                      "{model: $c, parameters: {weight: 1}}]\n"),
             "has 5 layers but");
  const std::string e = error_of(
      "merge_method: linear\nmodels: [{model: $a, parameters: {weight: 1}}, "
      "{model: ./no/such/model, parameters: {weight: 1}}]\n",
      ErrorKind::kNotFound);
  EXPECT_HAS(e, "merge.yaml: field 'models[1].model'");
  EXPECT_HAS(e, "./no/such/model");
}

}  // namespace
}  // namespace enclave::merge
