// Depth up-scaling (the SOLAR recipe) of a tiny model: n layers become
// 2(n - D), each output tensor is byte-equal to its source layer, the
// config says so, and the result loads, scores and generates.
#include "merge/upscale.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "core/error.h"
#include "core/file.h"
#include "merge/merge_test_util.h"
#include "model/engine.h"
#include "model/weight_files.h"

namespace enclave::merge {
namespace {

namespace fs = std::filesystem;
using testing::max_abs_diff;
using testing::read_tensor;
using testing::ScratchDir;

constexpr const char* kLayerTensors[] = {
    "input_layernorm.weight",  "self_attn.q_proj.weight", "self_attn.k_proj.weight",
    "self_attn.v_proj.weight", "self_attn.o_proj.weight", "post_attention_layernorm.weight",
    "mlp.gate_proj.weight",    "mlp.up_proj.weight",      "mlp.down_proj.weight"};

std::string layer(std::int64_t i, const char* suffix) {
  return fmt::format("model.layers.{}.{}", i, suffix);
}

MergeOptions options(const fs::path& out) { return {.out_dir = out, .show_progress = false}; }

TEST(Upscale, ConfigIsTwoSlicesOfTheSameModel) {
  const MergeConfig c = depth_upscale_config("solar", 32, 8);
  EXPECT_EQ(c.method, MergeMethod::kPassthrough);
  ASSERT_EQ(c.slices.size(), 2u);
  EXPECT_EQ(c.slices[0].sources[0].layer_range, std::pair(std::int64_t{0}, std::int64_t{24}));
  EXPECT_EQ(c.slices[1].sources[0].layer_range, std::pair(std::int64_t{8}, std::int64_t{32}));
  EXPECT_EQ(c.slices[1].sources[0].model, "solar");
}

TEST(Upscale, RejectsBadDrop) {
  for (std::int64_t drop : {-1, 4, 9}) {
    try {
      depth_upscale_config("m", 4, drop);
      ADD_FAILURE() << "accepted drop " << drop;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
      EXPECT_NE(std::string(e.what()).find("drop"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("4 layers"), std::string::npos) << e.what();
    }
  }
}

TEST(Upscale, TensorsEqualTheirSourcesAndTheModelRuns) {
  ScratchDir dir("upscale");
  testing::make_tiny_model(dir / "m", 21);
  const std::int64_t n = 4, drop = 1;
  const MergeResult r =
      upscale_model((dir / "m").string(), drop, std::nullopt, options(dir / "up"));
  const std::int64_t n_out = 2 * (n - drop);
  EXPECT_EQ(r.config.n_layer, n_out);
  const ModelConfig c = load_model_config(dir / "up" / "config.json");
  EXPECT_EQ(c.n_layer, n_out);
  EXPECT_EQ(WeightFiles(dir / "up").tensors().size(), parameter_shapes(c).size());

  // Output layer i comes from source layer i (first copy) or i - (n - D) + D
  // (second copy), byte for byte.
  double worst = 0;
  for (std::int64_t i = 0; i < n_out; ++i) {
    const std::int64_t source = i < n - drop ? i : i - (n - drop) + drop;
    for (const char* suffix : kLayerTensors) {
      worst = std::max(worst, max_abs_diff(read_tensor(dir / "up", layer(i, suffix)),
                                           read_tensor(dir / "m", layer(source, suffix))));
    }
  }
  for (const char* name : {"model.embed_tokens.weight", "model.norm.weight"}) {
    worst =
        std::max(worst, max_abs_diff(read_tensor(dir / "up", name), read_tensor(dir / "m", name)));
  }
  std::printf("upscale 4 -> 6 layers: max diff to sources %.3g\n", worst);
  EXPECT_EQ(worst, 0.0);
  // The two copies really differ in where they start.
  EXPECT_GT(max_abs_diff(read_tensor(dir / "up", layer(3, "mlp.up_proj.weight")),
                         read_tensor(dir / "up", layer(0, "mlp.up_proj.weight"))),
            0.0);
  EXPECT_EQ(read_file(dir / "up" / "tokenizer.json"), read_file(dir / "m" / "tokenizer.json"));
  EXPECT_TRUE(fs::exists(dir / "up" / "merge_config.yaml"));

  auto engine = Engine::load(dir / "up", {});
  EXPECT_EQ(engine->config().n_layer, n_out);
  const std::vector<TokenId> tokens =
      engine->tokenizer()->encode("Depth up-scaling stacks layers.");
  for (double lp : engine->score(tokens)) EXPECT_TRUE(std::isfinite(lp));
  GenerateOptions g;
  g.max_tokens = 6;
  g.ignore_eos = true;
  EXPECT_EQ(engine->generate(tokens, g, {}).n_generated, 6);
}

TEST(Upscale, DropZeroDoublesAndDtypeConverts) {
  ScratchDir dir("upscale0");
  testing::make_tiny_model(dir / "m", 22);
  const MergeResult r = upscale_model((dir / "m").string(), 0, DType::kBF16, options(dir / "up"));
  EXPECT_EQ(r.config.n_layer, 8);
  const ModelConfig c = load_model_config(dir / "up" / "config.json");
  EXPECT_EQ(c.torch_dtype, "bfloat16");
  WeightFiles files(dir / "up");
  EXPECT_EQ(files.find(layer(7, "mlp.down_proj.weight"))->info->dtype, DType::kBF16);
  EXPECT_THROW(upscale_model((dir / "m").string(), 4, std::nullopt, options(dir / "up4")), Error);
  EXPECT_FALSE(fs::exists(dir / "up4"));
  EXPECT_THROW(upscale_model((dir / "missing").string(), 1, std::nullopt, options(dir / "up5")),
               Error);
}

}  // namespace
}  // namespace enclave::merge
