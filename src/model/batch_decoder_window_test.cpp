#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file.h"
#include "core/scratch_dir_testing.h"
#include "model/batch_decoder.h"
#include "model/batch_decoder_testing.h"
#include "model/engine.h"
#include "model/init.h"
#include "model/kv_cache.h"

namespace enclave {
namespace {

// Sliding-window layers keep only their window in the KV cache (a ring in
// Engine's KvCache, the window pool's blocks in the batch decoder):
// decoding through them must give the logits of a full forward pass over
// the whole sequence, in the batch decoder and in generate.
constexpr std::int64_t kWindow = 4;        // shorter than a block of the pool
constexpr std::int64_t kWideWindow = 20;   // more than a block
constexpr std::int64_t kLongWindow = 300;  // more than a prefill chunk (256)

// Gemma 3 shaped models: layers 0 and 2 slide over the window with their
// own rotary base, layer 1 is global; weights large enough that attention
// is far from uniform.
class WindowCacheTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::ScratchDir("window-cache");
    for (std::int64_t window : {kWindow, kWideWindow, kLongWindow}) {
      const nlohmann::json config = {{"architectures", {"Gemma3ForCausalLM"}},
                                     {"model_type", "gemma3_text"},
                                     {"vocab_size", 512},
                                     {"hidden_size", 64},
                                     {"intermediate_size", 96},
                                     {"num_hidden_layers", 3},
                                     {"num_attention_heads", 4},
                                     {"num_key_value_heads", 2},
                                     {"head_dim", 16},
                                     {"query_pre_attn_scalar", 16},
                                     {"sliding_window", window},
                                     {"sliding_window_pattern", 2},
                                     {"max_position_embeddings", 1024},
                                     {"initializer_range", 0.3}};
      write_file_atomic(dir_->path() / "config.in.json", config.dump());
      init_model_from_config(dir_->path() / "config.in.json", model_dir(window), 5);
      engines_[index(window)] = Engine::load(model_dir(window), {}).release();
    }
    engine_ = engines_[0];
  }
  static void TearDownTestSuite() {
    for (Engine* e : engines_) delete e;
    delete dir_;
  }
  static std::filesystem::path model_dir(std::int64_t window) {
    return dir_->path() / ("model-" + std::to_string(window));
  }
  static int index(std::int64_t window) {
    return window == kWindow ? 0 : window == kWideWindow ? 1 : 2;
  }
  static Engine& engine(std::int64_t window) { return *engines_[index(window)]; }
  static std::vector<TokenId> tokens(int n, int salt) {
    std::vector<TokenId> p;
    for (int i = 0; i < n; ++i)
      p.push_back(static_cast<TokenId>((i * 37 + salt * 11 + 3) % 400 + 20));
    return p;
  }
  static testing::ScratchDir* dir_;
  static Engine* engines_[3];
  static Engine* engine_;  // window kWindow
};
testing::ScratchDir* WindowCacheTest::dir_ = nullptr;
Engine* WindowCacheTest::engines_[3] = {nullptr, nullptr, nullptr};
Engine* WindowCacheTest::engine_ = nullptr;

TEST_F(WindowCacheTest, OnlySlidingLayersAreRings) {
  const ModelConfig& c = engine_->config();
  KvCache cache(c, 1, 64, torch::dtype(torch::kFloat32), /*windowed=*/true);
  EXPECT_EQ(cache.capacity(0), kWindow);
  EXPECT_EQ(cache.capacity(1), 64);
  EXPECT_EQ(cache.capacity(2), kWindow);
  KvCache full(c, 1, 64, torch::dtype(torch::kFloat32));
  EXPECT_EQ(full.capacity(0), 64);
}

TEST_F(WindowCacheTest, BatchDecoderWindowPoolMatchesFullForward) {
  auto decoder = BatchDecoder::load(model_dir(kWindow), {}, {.n_slots = 3, .max_len = 40});
  const int a = decoder->acquire().value();
  const int gap = decoder->acquire().value();
  const int b = decoder->acquire().value();
  decoder->release(gap);
  std::vector<TokenId> seq_a = tokens(9, 1);  // longer than the window
  std::vector<TokenId> seq_b = tokens(2, 2);  // shorter: the window fills while decoding
  double worst = max_diff(engine_->last_logits(seq_a), decoder->prefill(a, seq_a));
  worst = std::max(worst, max_diff(engine_->last_logits(seq_b), decoder->prefill(b, seq_b)));
  const std::size_t V = static_cast<std::size_t>(decoder->config().vocab_size);
  for (int i = 0; i < 9; ++i) {
    const TokenId ta = static_cast<TokenId>(50 + 13 * i);
    const TokenId tb = static_cast<TokenId>(300 - 7 * i);
    seq_a.push_back(ta);
    seq_b.push_back(tb);
    std::vector<float> logits =
        decoder->step(std::vector<BatchDecoder::StepInput>{{b, tb}, {a, ta}});
    worst = std::max(
        worst, max_diff(engine_->last_logits(seq_b), std::span<const float>(logits.data(), V)));
    worst = std::max(
        worst, max_diff(engine_->last_logits(seq_a), std::span<const float>(logits.data() + V, V)));
  }
  std::printf("windowed batch decoder max diff %.3g\n", worst);
  EXPECT_LT(worst, 1e-4);
}

TEST_F(WindowCacheTest, ChunkedPrefillThroughTheWindowPoolMatchesFullForward) {
  auto decoder = BatchDecoder::load(model_dir(kWindow), {}, {.n_slots = 2, .max_len = 40});
  const std::vector<TokenId> seq = tokens(11, 4);
  const std::span<const TokenId> all(seq);
  const auto a = decoder->admit(seq, 20).value();
  decoder->extend(a.slot, all.first(3));
  decoder->extend(a.slot, all.subspan(3, 5));  // past the window of 4
  const double diff = max_diff(engine_->last_logits(seq), decoder->extend(a.slot, all.subspan(8)));
  std::printf("windowed chunked prefill max diff %.3g\n", diff);
  EXPECT_LT(diff, 1e-4);
}

// A prompt that starts like one still running reuses its blocks: those of
// the full-attention layer from the start, those of the sliding layers
// only over the last window (the running sequence has already dropped the
// others, which stay cached). Prompts longer than a chunk go through in
// several passes.
TEST_F(WindowCacheTest, PrefixCacheHitThroughTheWindowPoolGivesTheLogitsOfAMiss) {
  struct Case {
    std::int64_t window;
    int max_len;
    int shared;  // prompt tokens in common
  };
  for (const Case& c :
       {Case{kWindow, 96, 40}, Case{kWideWindow, 96, 40}, Case{kLongWindow, 800, 650}}) {
    const std::int64_t window = c.window;
    SCOPED_TRACE(window);
    auto decoder = BatchDecoder::load(model_dir(window), {}, {.n_slots = 2, .max_len = c.max_len});
    std::vector<TokenId> first = tokens(c.shared, 7);
    std::vector<TokenId> second = first;
    first.insert(first.end(), {11, 12, 13});
    second.insert(second.end(), {21, 22, 23, 24, 25});
    const int n_tokens = static_cast<int>(second.size()) + 24;
    const auto a = decoder->admit(first, n_tokens).value();
    EXPECT_EQ(a.n_cached, 0);
    std::vector<float> first_logits = decoder->extend(a.slot, first);
    const auto b = decoder->admit(second, n_tokens).value();
    const int n_hit = c.shared / kKvBlockSize * kKvBlockSize;
    ASSERT_EQ(b.n_cached, n_hit);
    std::vector<float> hit =
        decoder->extend(b.slot, std::span<const TokenId>(second).subspan(n_hit));
    EXPECT_EQ(decoder->cache_stats().prefix_hit_tokens, n_hit);

    auto uncached = BatchDecoder::load(model_dir(window), {},
                                       {.n_slots = 1, .max_len = c.max_len, .prefix_cache = false});
    const auto m = uncached->admit(second, n_tokens).value();
    std::vector<float> miss = uncached->extend(m.slot, second);
    const double diff = max_diff(miss, hit);
    const double full = max_diff(engine(window).last_logits(second), hit);
    std::printf("window %lld: prefix cache hit vs miss max diff %.3g, vs full forward %.3g\n",
                static_cast<long long>(window), diff, full);
    EXPECT_LT(diff, 1e-5);
    EXPECT_LT(full, 1e-4);
    // Both go on decoding together, each through its own window.
    const std::vector<std::vector<TokenId>> together =
        greedy_steps(*decoder, {a.slot, b.slot}, {first_logits, hit}, 24);
    EXPECT_EQ(together[1], greedy_steps(*uncached, {m.slot}, {miss}, 24)[0]);
  }
}

TEST_F(WindowCacheTest, GenerateThroughRingsMatchesGreedyFullForward) {
  std::vector<TokenId> seq = tokens(6, 3);
  GenerateOptions options;
  options.max_tokens = 10;
  options.sampling.temperature = 0;
  options.ignore_eos = true;
  GenerateResult got = engine_->generate(seq, options, nullptr);
  ASSERT_EQ(got.tokens.size(), 10u);
  for (TokenId t : got.tokens) {
    std::vector<float> logits = engine_->last_logits(seq);
    const auto best = std::max_element(logits.begin(), logits.end()) - logits.begin();
    EXPECT_EQ(t, static_cast<TokenId>(best));
    seq.push_back(t);
  }
}

// The window pool grows with --kv-cache-mb as the full pool does, holding
// as many windows as it holds sequences; a model whose layers all slide
// (Mistral) gets all of --kv-cache-mb for windows, and one too small for a
// window is refused naming the flag.
TEST_F(WindowCacheTest, TheWindowPoolIsSizedByKvCacheMb) {
  auto plain = BatchDecoder::load(model_dir(kWideWindow), {}, {.n_slots = 2, .max_len = 96});
  const BatchDecoder::CacheStats base = plain->cache_stats();
  // Windows of 20 and chunks of 20 over blocks of 16: 4 blocks per slot.
  // Two slots of 4 blocks, over two windowed layers (one full one).
  EXPECT_EQ(base.window_bytes, 2 * 4 * (2 * base.block_bytes));
  auto larger = BatchDecoder::load(
      model_dir(kWideWindow), {},
      {.n_slots = 2, .max_len = 96, .kv_cache_bytes = 3 * base.n_blocks * base.block_bytes});
  EXPECT_EQ(larger->cache_stats().n_blocks, 3 * base.n_blocks);
  EXPECT_EQ(larger->cache_stats().window_bytes, 3 * base.window_bytes);

  const nlohmann::json config = {{"architectures", {"MistralForCausalLM"}},
                                 {"model_type", "mistral"},
                                 {"vocab_size", 512},
                                 {"hidden_size", 64},
                                 {"intermediate_size", 96},
                                 {"num_hidden_layers", 2},
                                 {"num_attention_heads", 4},
                                 {"num_key_value_heads", 2},
                                 {"sliding_window", kWideWindow},
                                 {"max_position_embeddings", 128}};
  write_file_atomic(dir_->path() / "mistral.json", config.dump());
  init_model_from_config(dir_->path() / "mistral.json", dir_->path() / "mistral", 5);
  auto mistral = BatchDecoder::load(dir_->path() / "mistral", {}, {.n_slots = 2, .max_len = 96});
  const std::int64_t window_bytes = mistral->cache_stats().window_bytes;
  EXPECT_EQ(mistral->cache_stats().block_bytes, 0);
  auto bigger =
      BatchDecoder::load(dir_->path() / "mistral", {},
                         {.n_slots = 2, .max_len = 96, .kv_cache_bytes = 5 * window_bytes});
  EXPECT_EQ(bigger->cache_stats().window_bytes, 5 * window_bytes);
  try {
    BatchDecoder::load(dir_->path() / "mistral", {},
                       {.n_slots = 2, .max_len = 96, .kv_cache_bytes = window_bytes / 4});
    FAIL() << "a pool smaller than one window was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--kv-cache-mb"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace enclave
