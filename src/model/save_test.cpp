#include "model/save.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "model/engine.h"
#include "model/test_models.h"
#include "model/weights.h"

namespace enclave {
namespace {

using testing::ScratchDir;

Transformer load(const std::filesystem::path& dir) {
  Transformer m(load_model_config(dir / "config.json"), torch::kFloat32);
  load_weights(*m, WeightFiles(dir), {});
  return m;
}

std::vector<TokenId> prompt() { return {1, 17, 300, 5, 999, 42, 7}; }

class SaveTest : public ::testing::Test {
 protected:
  SaveTest() : root_("save") { init_model("tiny", root_ / "src", 2); }
  ScratchDir root_;
};

TEST_F(SaveTest, F32RoundTripGivesIdenticalLogits) {
  Transformer m = load(root_ / "src");
  save_model(*m, root_ / "out", {.copy_files_from = root_ / "src"});
  EXPECT_TRUE(std::filesystem::exists(root_ / "out" / "tokenizer.json"));
  EXPECT_FALSE(std::filesystem::exists(root_ / "out" / "model.safetensors.index.json"));
  auto a = Engine::load(root_ / "src", {});
  auto b = Engine::load(root_ / "out", {});
  std::vector<float> la = a->last_logits(prompt()), lb = b->last_logits(prompt());
  double diff = 0;
  for (std::size_t i = 0; i < la.size(); ++i)
    diff = std::max(diff, static_cast<double>(std::abs(la[i] - lb[i])));
  std::printf("saved f32 vs source: max diff %g\n", diff);
  EXPECT_EQ(diff, 0.0);
  EXPECT_NE(b->tokenizer(), nullptr);
  SafetensorsFile file(root_ / "out" / "model.safetensors");
  EXPECT_EQ(file.metadata().at("format"), "pt");
}

TEST_F(SaveTest, ShardsWhenLargerThanTheLimit) {
  Transformer m = load(root_ / "src");
  save_model(*m, root_ / "sharded", {.max_shard_bytes = 2'000'000});
  nlohmann::json index = read_json_file(root_ / "sharded" / "model.safetensors.index.json");
  std::set<std::string> shards;
  for (const auto& [name, shard] : index["weight_map"].items())
    shards.insert(shard.get<std::string>());
  EXPECT_GT(shards.size(), 2u);
  EXPECT_TRUE(shards.count("model-00001-of-0000" + std::to_string(shards.size()) + ".safetensors"));
  auto a = Engine::load(root_ / "src", {});
  auto b = Engine::load(root_ / "sharded", {});
  EXPECT_EQ(a->score(prompt()), b->score(prompt()));
  EXPECT_EQ(inspect_model(root_ / "sharded")["n_parameters"],
            inspect_model(root_ / "src")["n_parameters"]);
}

TEST_F(SaveTest, Bf16SaveLoadsClose) {
  Transformer m = load(root_ / "src");
  save_model(*m, root_ / "bf16", {.dtype = "bf16"});
  EXPECT_EQ(load_model_config(root_ / "bf16" / "config.json").torch_dtype, "bfloat16");
  nlohmann::json s = inspect_model(root_ / "bf16");
  EXPECT_TRUE(s["dtypes"].contains("BF16"));
  auto a = Engine::load(root_ / "src", {});
  auto b = Engine::load(root_ / "bf16", {});
  std::vector<double> sa = a->score(prompt()), sb = b->score(prompt());
  double diff = 0;
  for (std::size_t i = 0; i < sa.size(); ++i) diff = std::max(diff, std::abs(sa[i] - sb[i]));
  std::printf("bf16-saved vs f32 logprobs: max diff %.3g\n", diff);
  EXPECT_LT(diff, 0.05);
}

TEST_F(SaveTest, RejectsBadOptionsAndNonEmptyDirectory) {
  Transformer m = load(root_ / "src");
  EXPECT_THROW(save_model(*m, root_ / "x", {.dtype = "int8"}), Error);
  EXPECT_THROW(save_model(*m, root_ / "x", {.max_shard_bytes = 0}), Error);
  EXPECT_THROW(save_model(*m, root_ / "src", {}), Error);
  EXPECT_FALSE(std::filesystem::exists(root_ / "x"));
}

}  // namespace
}  // namespace enclave
