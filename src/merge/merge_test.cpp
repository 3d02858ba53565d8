// End-to-end merges of tiny models: the identities every method must keep
// (a linear merge of a model with itself, SLERP endpoints, task arithmetic
// on the base), TIES and DARE on real tensors recomputed from their
// definitions, DARE's reproducibility, sharded and bf16 output, nothing
// left behind on failure, and merged models that load, score and generate.
#include "merge/merge.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "core/error.h"
#include "core/file.h"
#include "core/yaml.h"
#include "merge/merge_test_util.h"
#include "merge/methods.h"
#include "merge/sparsify.h"
#include "model/engine.h"

namespace enclave::merge {
namespace {

namespace fs = std::filesystem;
using testing::max_abs_diff;
using testing::read_tensor;
using testing::ScratchDir;

class MergeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir("merge");
    testing::make_tiny_model(*dir_ / "a", 11);
    testing::make_tiny_model(*dir_ / "b", 12);
    testing::make_tiny_model(*dir_ / "base", 13);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static std::string with_models(const std::string& yaml) {
    return testing::with_model_dirs(yaml, dir_->path(), {"base", "a", "b"});
  }

  static MergeConfig config(const std::string& yaml) {
    return parse_merge_config(parse_yaml(with_models(yaml), "merge.yaml"), "merge.yaml");
  }

  // Runs the merge into a fresh folder named `out` and returns the result.
  static MergeResult merge(const std::string& yaml, const std::string& out, std::uint64_t seed = 0,
                           std::uint64_t max_shard_bytes = 5'000'000'000) {
    fs::remove_all(*dir_ / out);
    return run_merge(config(yaml), {.out_dir = *dir_ / out,
                                    .config_name = "merge.yaml",
                                    .config_text = with_models(yaml),
                                    .seed = seed,
                                    .max_shard_bytes = max_shard_bytes,
                                    .show_progress = false});
  }

  // The largest difference over every tensor of two model folders.
  static double model_diff(const fs::path& x, const fs::path& y) {
    double d = 0;
    for (const ParameterShape& p : parameter_shapes(load_model_config(x / "config.json"))) {
      d = std::max(d, max_abs_diff(read_tensor(x, p.name), read_tensor(y, p.name)));
    }
    return d;
  }

  static void expect_same_model(const fs::path& got, const fs::path& want, double tolerance,
                                const char* what) {
    const double d = model_diff(got, want);
    std::printf("%s: max diff %.3g\n", what, d);
    EXPECT_LE(d, tolerance) << what;
  }

  // Loads the model and checks it scores and generates with finite results.
  static void expect_runs(const fs::path& dir) {
    auto engine = Engine::load(dir, {});
    ASSERT_NE(engine->tokenizer(), nullptr);
    const std::vector<TokenId> tokens = engine->tokenizer()->encode("The merged model reads this.");
    const std::vector<double> logprobs = engine->score(tokens);
    ASSERT_EQ(logprobs.size(), tokens.size() - 1);
    for (double lp : logprobs) EXPECT_TRUE(std::isfinite(lp) && lp <= 0.0) << lp;
    GenerateOptions options;
    options.max_tokens = 8;
    options.ignore_eos = true;
    const GenerateResult r = engine->generate(tokens, options, {});
    EXPECT_EQ(r.n_generated, 8);
  }

  static ScratchDir* dir_;
};

ScratchDir* MergeTest::dir_ = nullptr;

TEST_F(MergeTest, LinearMergeOfAModelWithItselfIsTheIdentity) {
  // The same directory twice, and a model with its own copy.
  testing::copy_model(*dir_ / "a", *dir_ / "a_copy");
  const std::string copy = (*dir_ / "a_copy").string();
  const MergeResult r = merge(
      "merge_method: linear\nmodels:\n  - {model: $a, parameters: {weight: 0.3}}\n"
      "  - {model: " +
          copy + ", parameters: {weight: 0.7}}\n",
      "linear_self");
  EXPECT_EQ(r.inputs.size(), 2u);
  expect_same_model(*dir_ / "linear_self", *dir_ / "a", 0.0, "linear(a, copy of a)");
  merge(
      "merge_method: linear\nmodels: [{model: $a, parameters: {weight: 2}}, {model: $a, "
      "parameters: {weight: [1, 5]}}]\n",
      "linear_self2");
  expect_same_model(*dir_ / "linear_self2", *dir_ / "a", 0.0, "linear(a, a) with a gradient");
  // The output is a model directory with the inputs' tokenizer and the recipe.
  EXPECT_EQ(read_file(*dir_ / "linear_self" / "tokenizer.json"),
            read_file(*dir_ / "a" / "tokenizer.json"));
  EXPECT_TRUE(fs::exists(*dir_ / "linear_self" / "merge_config.yaml"));
  EXPECT_TRUE(fs::exists(*dir_ / "linear_self" / "generation_config.json"));
}

TEST_F(MergeTest, LinearWeightsMixTheModels) {
  merge(
      "merge_method: linear\nmodels: [{model: $a, parameters: {weight: 1}}, {model: $b, "
      "parameters: {weight: 3}}]\n",
      "linear_mix");
  const std::string name = "model.layers.1.self_attn.o_proj.weight";
  const std::vector<float> a = read_tensor(*dir_ / "a", name), b = read_tensor(*dir_ / "b", name);
  std::vector<float> want(a.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    want[i] = static_cast<float>((1.0 * a[i] + 3.0 * b[i]) / 4.0);
  const double d = max_abs_diff(read_tensor(*dir_ / "linear_mix", name), want);
  std::printf("linear 1:3: max diff %.3g\n", d);
  EXPECT_EQ(d, 0.0);
}

TEST_F(MergeTest, SlerpEndpointsReturnTheModels) {
  const std::string slerp =
      "merge_method: slerp\nbase_model: $a\nmodels: [{model: $a}, {model: $b}]\n";
  merge(slerp + "parameters: {t: 0}\n", "slerp0");
  expect_same_model(*dir_ / "slerp0", *dir_ / "a", 0.0, "slerp t=0");
  merge(slerp + "parameters: {t: 1}\n", "slerp1");
  expect_same_model(*dir_ / "slerp1", *dir_ / "b", 0.0, "slerp t=1");
  // t per tensor group: attention from b, everything else from a.
  merge(slerp + "parameters: {t: [{filter: self_attn, value: 1}, {value: 0}]}\n", "slerp_groups");
  const std::string attn = "model.layers.2.self_attn.v_proj.weight",
                    mlp = "model.layers.2.mlp.up_proj.weight";
  EXPECT_EQ(max_abs_diff(read_tensor(*dir_ / "slerp_groups", attn), read_tensor(*dir_ / "b", attn)),
            0.0);
  EXPECT_EQ(max_abs_diff(read_tensor(*dir_ / "slerp_groups", mlp), read_tensor(*dir_ / "a", mlp)),
            0.0);
  // Halfway lies strictly between.
  merge(slerp + "parameters: {t: 0.5}\n", "slerp_half");
  EXPECT_GT(model_diff(*dir_ / "slerp_half", *dir_ / "a"), 0.0);
  EXPECT_GT(model_diff(*dir_ / "slerp_half", *dir_ / "b"), 0.0);
  expect_runs(*dir_ / "slerp_half");
}

TEST_F(MergeTest, TaskArithmeticOfTheBaseIsTheBase) {
  merge(
      "merge_method: task_arithmetic\nbase_model: $base\nmodels: [{model: $base}, "
      "{model: $base, parameters: {weight: 0.8}}]\n",
      "ta_base");
  expect_same_model(*dir_ / "ta_base", *dir_ / "base", 0.0, "task_arithmetic(base)");
}

// TIES on real tensors against the definition recomputed here from the stored
// values: trim each delta to its top 50%, elect signs, disjoint mean.
TEST_F(MergeTest, TiesMatchesTheDefinitionOnRealTensors) {
  merge(
      "merge_method: ties\nbase_model: $base\nmodels:\n  - {model: $a, parameters: {weight: 1, "
      "density: 0.5}}\n"
      "  - {model: $b, parameters: {weight: 0.5, density: 0.5}}\n",
      "ties");
  const std::string name = "model.layers.0.mlp.down_proj.weight";
  const auto base = read_tensor(*dir_ / "base", name), a = read_tensor(*dir_ / "a", name),
             b = read_tensor(*dir_ / "b", name);
  std::vector<float> da(a.size()), db(b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    da[i] = a[i] - base[i];
    db[i] = b[i] - base[i];
  }
  trim_by_magnitude(da, 0.5);
  trim_by_magnitude(db, 0.5);
  std::vector<float> want(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double wa = 1.0 * da[i], wb = 0.5 * db[i];
    const bool positive = wa + wb >= 0;
    double sum = 0, weights = 0;
    if (wa != 0 && (wa > 0) == positive) sum += wa, weights += 1.0;
    if (wb != 0 && (wb > 0) == positive) sum += wb, weights += 0.5;
    want[i] = static_cast<float>(base[i] + (weights == 0 ? 0.0 : sum / weights));
  }
  const double d = max_abs_diff(read_tensor(*dir_ / "ties", name), want);
  std::printf("ties on %s: max diff %.3g\n", name.c_str(), d);
  EXPECT_LE(d, 1e-7);
  expect_runs(*dir_ / "ties");
}

TEST_F(MergeTest, DareWithOneSeedIsReproducible) {
  const std::string dare =
      "merge_method: dare_ties\nbase_model: $base\nmodels:\n"
      "  - {model: $a, parameters: {weight: 1, density: 0.3}}\n"
      "  - {model: $b, parameters: {weight: 1, density: 0.3}}\n";
  merge(dare, "dare1", /*seed=*/7);
  merge(dare, "dare2", /*seed=*/7);
  merge(dare, "dare3", /*seed=*/8);
  EXPECT_EQ(read_file(*dir_ / "dare1" / "model.safetensors"),
            read_file(*dir_ / "dare2" / "model.safetensors"));
  EXPECT_GT(model_diff(*dir_ / "dare1", *dir_ / "dare3"), 0.0);
  expect_runs(*dir_ / "dare1");

  // dare_linear against its definition: drop with the per-tensor seed, rescale, add.
  merge(
      "merge_method: dare_linear\nbase_model: $base\nmodels: [{model: $a, parameters: {weight: "
      "0.5, density: "
      "0.4}}]\n",
      "dare_linear", 7);
  const std::string name = "model.layers.3.self_attn.q_proj.weight";
  const auto base = read_tensor(*dir_ / "base", name), a = read_tensor(*dir_ / "a", name);
  std::vector<float> delta(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) delta[i] = a[i] - base[i];
  // The models are numbered as the plan loads them: base first, then a.
  drop_random(delta, 0.4, tensor_seed(7, name, 1), /*rescale=*/true);
  std::vector<float> want(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) want[i] = static_cast<float>(base[i] + 0.5 * delta[i]);
  const double d = max_abs_diff(read_tensor(*dir_ / "dare_linear", name), want);
  std::printf("dare_linear on %s: max diff %.3g\n", name.c_str(), d);
  EXPECT_LE(d, 1e-7);
}

TEST_F(MergeTest, Bf16OutputAndShardsLoad) {
  const MergeResult r = merge(
      "merge_method: linear\ndtype: bfloat16\nmodels: [{model: $a, parameters: {weight: 1}}, "
      "{model: $b, parameters: {weight: 1}}]\n",
      "bf16_sharded", 0, /*max_shard_bytes=*/2'000'000);
  EXPECT_GT(r.n_shards, 1);
  EXPECT_TRUE(fs::exists(*dir_ / "bf16_sharded" / "model.safetensors.index.json"));
  EXPECT_FALSE(fs::exists(*dir_ / "bf16_sharded" / "model.safetensors"));
  const ModelConfig c = load_model_config(*dir_ / "bf16_sharded" / "config.json");
  EXPECT_EQ(c.torch_dtype, "bfloat16");
  // bf16 keeps 8 significant bits: round to nearest is within 2^-8 relative
  // (plus the f32 rounding before it).
  const std::string name = "model.embed_tokens.weight";
  const auto a = read_tensor(*dir_ / "a", name), b = read_tensor(*dir_ / "b", name);
  const auto got = read_tensor(*dir_ / "bf16_sharded", name);
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double want = (static_cast<double>(a[i]) + b[i]) / 2;
    worst = std::max(worst, std::fabs(got[i] - want) / std::max(std::fabs(want), 1e-30));
  }
  std::printf("bf16 linear: max relative diff %.3g\n", worst);
  EXPECT_LE(worst, 1.0 / 256 + 1e-6);
  expect_runs(*dir_ / "bf16_sharded");
}

TEST_F(MergeTest, FailedMergeLeavesNothingBehind) {
  const fs::path out = *dir_ / "failed";
  fs::remove_all(out);
  // The weights sum to zero at layer 0 only, found while writing: the error
  // comes after some tensors are written.
  EXPECT_THROW(merge("merge_method: linear\nmodels: [{model: $a, parameters: {weight: [-1, 1]}}, "
                     "{model: $b, parameters: {weight: 1}}]\n",
                     "failed"),
               Error);
  EXPECT_FALSE(fs::exists(out));
  for (const auto& entry : fs::directory_iterator(dir_->path())) {
    EXPECT_EQ(entry.path().filename().string().find("failed"), std::string::npos) << entry.path();
  }
  // An existing non-empty folder is never overwritten.
  EXPECT_THROW(
      run_merge(config("merge_method: linear\nmodels: [{model: $a, parameters: {weight: 1}}]\n"),
                {.out_dir = *dir_ / "a", .show_progress = false}),
      Error);
}

}  // namespace
}  // namespace enclave::merge
