#include "model/generation.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "core/file.h"
#include "model/engine.h"
#include "model/test_models.h"

namespace enclave {
namespace {

using testing::ScratchDir;

class GenerationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir("generation");
    init_model("tiny", dir_->path(), /*seed=*/1);
    engine_ = Engine::load(dir_->path(), {}).release();
  }
  static void TearDownTestSuite() {
    delete engine_;
    delete dir_;
  }
  static std::vector<TokenId> prompt(int n = 6) {
    std::vector<TokenId> p;
    for (int i = 0; i < n; ++i) p.push_back(static_cast<TokenId>((i * 53 + 7) % 1000 + 10));
    return p;
  }
  static ScratchDir* dir_;
  static Engine* engine_;
};
ScratchDir* GenerationTest::dir_ = nullptr;
Engine* GenerationTest::engine_ = nullptr;

TEST_F(GenerationTest, LoadsConfigTokenizerAndCountsParameters) {
  EXPECT_EQ(engine_->config().n_layer, 4);
  ASSERT_NE(engine_->tokenizer(), nullptr);
  EXPECT_EQ(engine_->n_parameters(), count_parameters(engine_->config()));
}

TEST_F(GenerationTest, ScoreMatchesLogSoftmaxOfLastLogits) {
  std::vector<TokenId> tokens = prompt(9);
  std::vector<double> scores = engine_->score(tokens);
  ASSERT_EQ(scores.size(), tokens.size() - 1);
  double max_diff = 0;
  for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
    std::vector<TokenId> prefix(tokens.begin(), tokens.begin() + i + 1);
    std::vector<float> logits = engine_->last_logits(prefix);
    double max = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (float l : logits) sum += std::exp(l - max);
    const double expected = logits[tokens[i + 1]] - max - std::log(sum);
    max_diff = std::max(max_diff, std::abs(expected - scores[i]));
  }
  std::printf("score vs last_logits log-softmax: max diff %.3g\n", max_diff);
  EXPECT_LT(max_diff, 1e-5);
}

TEST_F(GenerationTest, ScoreRejectsBadTokens) {
  EXPECT_THROW(engine_->score({}), Error);
  EXPECT_THROW(engine_->score({1, 1024}), Error);
  EXPECT_THROW(engine_->score({1, -1}), Error);
  EXPECT_THROW(engine_->last_logits(std::vector<TokenId>(2049, 5)), Error);
  try {
    engine_->score({3, 5000});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("5000"), std::string::npos) << e.what();
  }
}

TEST_F(GenerationTest, ScoreWorksWithoutTokenizerFiles) {
  ScratchDir bare("bare");
  std::filesystem::copy_file(dir_->path() / "config.json", bare / "config.json");
  std::filesystem::copy_file(dir_->path() / "model.safetensors", bare / "model.safetensors");
  auto engine = Engine::load(bare.path(), {});
  EXPECT_EQ(engine->tokenizer(), nullptr);
  EXPECT_EQ(engine->score(prompt()), engine_->score(prompt()));
  EXPECT_THROW(engine->generate(prompt(), {}, nullptr), Error);
}

TEST_F(GenerationTest, GreedyFollowsArgmaxOfLastLogits) {
  GenerateOptions options{.max_tokens = 6, .sampling = {.temperature = 0.0}, .ignore_eos = true};
  GenerateResult result = engine_->generate(prompt(), options, nullptr);
  ASSERT_EQ(result.tokens.size(), 6u);
  std::vector<TokenId> seq = prompt();
  for (TokenId token : result.tokens) {
    std::vector<float> logits = engine_->last_logits(seq);
    EXPECT_EQ(token, std::max_element(logits.begin(), logits.end()) - logits.begin());
    seq.push_back(token);
  }
  EXPECT_EQ(result.finish_reason, "length");
  EXPECT_EQ(result.n_prompt_tokens, 6);
  EXPECT_EQ(result.n_generated, 6);
}

TEST_F(GenerationTest, SeededSamplingIsReproducibleAndStreams) {
  GenerateOptions options{
      .max_tokens = 12, .sampling = {.temperature = 1.0, .seed = 5}, .ignore_eos = true};
  std::string streamed;
  GenerateResult a =
      engine_->generate(prompt(), options, [&](std::string_view s) { streamed += s; });
  GenerateResult b = engine_->generate(prompt(), options, nullptr);
  options.sampling.seed = 6;
  GenerateResult c = engine_->generate(prompt(), options, nullptr);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.text, b.text);
  EXPECT_NE(a.tokens, c.tokens);
  EXPECT_EQ(streamed, a.text);
  EXPECT_EQ(a.text, engine_->tokenizer()->decode(a.tokens));
  EXPECT_GE(a.prompt_seconds, 0.0);
  EXPECT_GE(a.decode_seconds, 0.0);
}

TEST_F(GenerationTest, StopStringEndsGenerationAndIsNotEmitted) {
  GenerateOptions options{
      .max_tokens = 24, .sampling = {.temperature = 1.0, .seed = 9}, .ignore_eos = true};
  GenerateResult full = engine_->generate(prompt(), options, nullptr);
  ASSERT_GE(full.text.size(), 8u) << full.text;
  // A stop string taken from the middle of the unconstrained output.
  const std::string stop = full.text.substr(full.text.size() / 2, 3);
  options.stop = {stop};
  std::string streamed;
  GenerateResult cut =
      engine_->generate(prompt(), options, [&](std::string_view s) { streamed += s; });
  EXPECT_EQ(cut.finish_reason, "stop");
  EXPECT_EQ(cut.text, full.text.substr(0, full.text.find(stop)));
  EXPECT_EQ(streamed, cut.text);
  EXPECT_LT(cut.tokens.size(), full.tokens.size());
}

TEST_F(GenerationTest, EosIdStopsUnlessIgnored) {
  GenerateOptions options{.max_tokens = 8, .sampling = {.temperature = 0.0}, .ignore_eos = true};
  GenerateResult greedy = engine_->generate(prompt(), options, nullptr);
  // Make the third greedy token an eos id through config.json.
  ScratchDir copy("eos");
  for (const auto& entry : std::filesystem::directory_iterator(dir_->path())) {
    std::filesystem::copy_file(entry.path(), copy / entry.path().filename().string());
  }
  nlohmann::json config = nlohmann::json::parse(read_file(copy / "config.json"));
  config["eos_token_id"] = greedy.tokens[2];
  write_file_atomic(copy / "config.json", config.dump());
  auto engine = Engine::load(copy.path(), {});
  options.ignore_eos = false;
  GenerateResult stopped = engine->generate(prompt(), options, nullptr);
  EXPECT_EQ(stopped.finish_reason, "stop");
  EXPECT_EQ(stopped.tokens, std::vector<TokenId>(greedy.tokens.begin(), greedy.tokens.begin() + 3));
  options.ignore_eos = true;
  EXPECT_EQ(engine->generate(prompt(), options, nullptr).tokens, greedy.tokens);
}

TEST_F(GenerationTest, MaxTokensAndContextLimits) {
  GenerateResult none = engine_->generate(prompt(), {.max_tokens = 0}, nullptr);
  EXPECT_TRUE(none.tokens.empty());
  EXPECT_EQ(none.finish_reason, "length");
  EXPECT_THROW(engine_->generate(prompt(), {.max_tokens = -1}, nullptr), Error);
  EXPECT_THROW(engine_->generate({}, {}, nullptr), Error);
  EXPECT_THROW(engine_->generate(prompt(), {.sampling = {.top_p = 0.0}}, nullptr), Error);
  EXPECT_THROW(engine_->generate(prompt(), {.stop = {""}}, nullptr), Error);
  // Only 2 positions are left in the 2048 context.
  std::vector<TokenId> long_prompt(2046, 17);
  GenerateResult clamped = engine_->generate(
      long_prompt, {.max_tokens = 10, .sampling = {.temperature = 0.0}, .ignore_eos = true},
      nullptr);
  EXPECT_EQ(clamped.n_generated, 2);
  EXPECT_EQ(clamped.finish_reason, "length");
}

TEST_F(GenerationTest, Bf16EngineAgreesWithF32OnGreedyStart) {
  auto bf16 = Engine::load(dir_->path(), {.dtype = "bf16"});
  std::vector<float> a = engine_->last_logits(prompt());
  std::vector<float> b = bf16->last_logits(prompt());
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::abs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::abs(a[i])));
  }
  std::printf("bf16 engine vs f32 engine last logits: max diff %.3g (scale %.3g)\n", diff, scale);
  EXPECT_LT(diff, 0.1 * scale);
  EXPECT_THROW(Engine::load(dir_->path(), {.dtype = "f64"}), Error);
  EXPECT_THROW(Engine::load(dir_->path(), {.device = "tpu"}), Error);
  EXPECT_THROW(Engine::load(dir_->path() / "missing", {}), Error);
}

}  // namespace
}  // namespace enclave
