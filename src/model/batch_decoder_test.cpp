#include "model/batch_decoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "core/file.h"
#include "core/scratch_dir_testing.h"
#include "model/batch_decoder_testing.h"
#include "model/batch_generation.h"
#include "model/engine.h"
#include "model/init.h"
#include "model/safetensors.h"
#include "model/sampling.h"

namespace enclave {
namespace {

// A PEFT LoRA adapter on q_proj and v_proj of every layer, r = 2, with
// non-zero B so the adapted model differs from the base.
void write_test_adapter(const std::filesystem::path& dir, const ModelConfig& c, float shift = 0) {
  std::filesystem::create_directories(dir);
  write_file_atomic(
      dir / "adapter_config.json",
      R"({"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["q_proj", "v_proj"]})");
  const std::int64_t r = 2;
  std::vector<std::vector<float>> data;
  std::vector<TensorToWrite> tensors;
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape) {
    std::vector<float>& v = data.emplace_back(static_cast<std::size_t>(shape[0] * shape[1]));
    for (std::size_t i = 0; i < v.size(); ++i)
      v[i] = 0.05f * static_cast<float>((i * 37 + name.size()) % 11) - 0.25f + shift;
  };
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> specs;
  for (std::int64_t l = 0; l < c.n_layer; ++l) {
    for (const auto& [module, out] :
         {std::pair<std::string, std::int64_t>{"q_proj", c.n_head * c.head_dim},
          std::pair<std::string, std::int64_t>{"v_proj", c.n_kv_head * c.head_dim}}) {
      const std::string base =
          fmt::format("base_model.model.model.layers.{}.self_attn.{}", l, module);
      specs.push_back({base + ".lora_A.weight", {r, c.hidden_size}});
      specs.push_back({base + ".lora_B.weight", {out, r}});
    }
  }
  data.reserve(specs.size());
  for (const auto& [name, shape] : specs) add(name, shape);
  for (std::size_t i = 0; i < specs.size(); ++i) {
    tensors.push_back(
        {specs[i].first, DType::kF32, specs[i].second,
         std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(data[i].data()),
                                       data[i].size() * sizeof(float))});
  }
  write_safetensors(dir / "adapter_model.safetensors", tensors);
}

class BatchDecoderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::ScratchDir("batch-decoder");
    init_model("tiny", dir_->path(), /*seed=*/3);
    engine_ = Engine::load(dir_->path(), {}).release();
  }
  static void TearDownTestSuite() {
    delete engine_;
    delete dir_;
  }
  static std::vector<TokenId> prompt(int n, int salt) {
    std::vector<TokenId> p;
    for (int i = 0; i < n; ++i)
      p.push_back(static_cast<TokenId>((i * 53 + salt * 31 + 7) % 1000 + 10));
    return p;
  }
  static testing::ScratchDir* dir_;
  static Engine* engine_;
};
testing::ScratchDir* BatchDecoderTest::dir_ = nullptr;
Engine* BatchDecoderTest::engine_ = nullptr;

TEST_F(BatchDecoderTest, PrefillMatchesEngineLogits) {
  auto decoder = BatchDecoder::load(dir_->path(), {}, {.n_slots = 2, .max_len = 64});
  const int slot = decoder->acquire().value();
  std::vector<TokenId> p = prompt(9, 1);
  std::vector<float> logits = decoder->prefill(slot, p);
  const double diff = max_diff(engine_->last_logits(p), logits);
  std::printf("prefill logits max diff %.3g\n", diff);
  EXPECT_LT(diff, 1e-4);
  EXPECT_EQ(decoder->length(slot), 9);
}

// Rows of different lengths in non-adjacent slots, joining at different
// steps, must each see exactly their own sequence.
TEST_F(BatchDecoderTest, InterleavedRowsMatchSequentialForward) {
  auto decoder = BatchDecoder::load(dir_->path(), {}, {.n_slots = 4, .max_len = 64});
  const int a = decoder->acquire().value();
  const int gap = decoder->acquire().value();
  const int b = decoder->acquire().value();
  decoder->release(gap);
  std::vector<TokenId> seq_a = prompt(5, 2);
  std::vector<TokenId> seq_b = prompt(11, 3);
  decoder->prefill(a, seq_a);
  double worst = 0;
  for (int i = 0; i < 6; ++i) {
    std::vector<BatchDecoder::StepInput> inputs;
    const TokenId next_a = static_cast<TokenId>(100 + i);
    inputs.push_back({a, next_a});
    seq_a.push_back(next_a);
    if (i == 2) decoder->prefill(b, seq_b);
    const bool with_b = i >= 2;
    if (with_b) {
      const TokenId next_b = static_cast<TokenId>(300 + 7 * i);
      inputs.insert(inputs.begin(), {b, next_b});  // rows out of slot order
      seq_b.push_back(next_b);
    }
    std::vector<float> logits = decoder->step(inputs);
    const std::size_t V = static_cast<std::size_t>(decoder->config().vocab_size);
    ASSERT_EQ(logits.size(), inputs.size() * V);
    for (std::size_t r = 0; r < inputs.size(); ++r) {
      const std::vector<TokenId>& seq = inputs[r].slot == a ? seq_a : seq_b;
      std::span<const float> row(logits.data() + r * V, V);
      worst = std::max(worst, max_diff(engine_->last_logits(seq), row));
    }
  }
  std::printf("interleaved step logits max diff %.3g\n", worst);
  EXPECT_LT(worst, 1e-4);
  EXPECT_EQ(decoder->length(a), 11);
  EXPECT_EQ(decoder->length(b), 15);
}

TEST_F(BatchDecoderTest, GreedyDecodingMatchesEngineGenerate) {
  auto decoder = BatchDecoder::load(dir_->path(), {}, {.n_slots = 1, .max_len = 0});
  EXPECT_EQ(decoder->max_len(), engine_->config().max_position_embeddings);
  std::vector<TokenId> p = prompt(7, 4);
  GenerateOptions options;
  options.max_tokens = 12;
  options.sampling.temperature = 0;
  options.ignore_eos = true;
  GenerateResult expected = engine_->generate(p, options, nullptr);

  const int slot = decoder->acquire().value();
  std::vector<float> logits = decoder->prefill(slot, p);
  Sampler sampler(options.sampling);
  std::vector<TokenId> history = p;
  std::vector<TokenId> got;
  for (int i = 0; i < options.max_tokens; ++i) {
    const TokenId t = sampler.sample(logits, history);
    got.push_back(t);
    history.push_back(t);
    if (i + 1 < options.max_tokens)
      logits = decoder->step(std::vector<BatchDecoder::StepInput>{{slot, t}});
  }
  EXPECT_EQ(got, expected.tokens);
}

TEST_F(BatchDecoderTest, AdapterMatchesEngineWithTheSameAdapter) {
  const testing::ScratchDir adapter_dir("adapter");
  const std::filesystem::path adapter = adapter_dir / "adapter";
  write_test_adapter(adapter, engine_->config());
  EngineOptions with_adapter;
  with_adapter.adapter = adapter.string();
  auto adapted_engine = Engine::load(dir_->path(), with_adapter);
  auto decoder =
      BatchDecoder::load(dir_->path(), {}, {.n_slots = 2, .max_len = 64, .adapter = adapter});
  std::vector<TokenId> p = prompt(6, 5);
  const int slot = decoder->acquire().value();
  std::vector<float> logits = decoder->prefill(slot, p);
  const double diff = max_diff(adapted_engine->last_logits(p), logits);
  const double from_base = max_diff(engine_->last_logits(p), logits);
  std::printf("adapter prefill max diff %.3g (vs base %.3g)\n", diff, from_base);
  EXPECT_LT(diff, 1e-4);
  EXPECT_GT(from_base, 1e-3);  // the adapter changes the model
  p.push_back(77);
  logits = decoder->step(std::vector<BatchDecoder::StepInput>{{slot, 77}});
  EXPECT_LT(max_diff(adapted_engine->last_logits(p), logits), 1e-4);

  // A decoder over the adapted engine's own model decodes with its adapter.
  auto shared = BatchDecoder::from_engine(*adapted_engine, {.n_slots = 1, .max_len = 64});
  const std::vector<TokenId> q = prompt(6, 5);
  const double shared_diff =
      max_diff(adapted_engine->last_logits(q), shared->prefill(shared->acquire().value(), q));
  std::printf("decoder over the adapted engine: prefill max diff %.3g\n", shared_diff);
  EXPECT_LT(shared_diff, 1e-4);
  EXPECT_THROW(BatchDecoder::from_engine(*adapted_engine, {.adapter = adapter}), Error);
}

// S-LoRA: the base and two adapters in one batch, sharing weights and the
// KV pool, give each row the tokens of that adapter decoded alone; the same
// prompt under another adapter never reuses the other's cached prefix.
TEST_F(BatchDecoderTest, AdaptersBatchedTogetherGiveTheTokensOfOneAtATime) {
  const testing::ScratchDir scratch("adapters");
  const std::vector<std::filesystem::path> dirs = {scratch / "a", scratch / "b"};
  write_test_adapter(dirs[0], engine_->config());
  write_test_adapter(dirs[1], engine_->config(), /*shift=*/0.1f);
  auto batched =
      BatchDecoder::load(dir_->path(), {}, {.n_slots = 3, .max_len = 64, .adapters = dirs});
  ASSERT_EQ(batched->n_adapters(), 2);
  const std::vector<TokenId> p = prompt(20, 8);  // one cacheable block and more
  std::vector<int> slots;
  std::vector<std::vector<float>> logits;
  for (int k = 0; k <= 2; ++k) {
    const auto admitted = batched->admit(p, 30, k).value();
    EXPECT_EQ(admitted.n_cached, 0) << "adapter " << k;
    slots.push_back(admitted.slot);
    logits.push_back(batched->extend(admitted.slot, p));
  }
  EXPECT_GT(max_diff(logits[0], logits[1]), 1e-3);
  EXPECT_GT(max_diff(logits[1], logits[2]), 1e-3);
  const auto together = greedy_steps(*batched, slots, logits, 6);
  double worst = 0;
  for (int k = 0; k <= 2; ++k) {
    auto alone = BatchDecoder::load(
        dir_->path(), {},
        {.n_slots = 1, .max_len = 64, .adapter = k == 0 ? std::filesystem::path() : dirs[k - 1]});
    const int slot = alone->acquire().value();
    std::vector<float> first = alone->prefill(slot, p);
    worst = std::max(worst, max_diff(first, logits[k]));
    EXPECT_EQ(greedy_steps(*alone, {slot}, {first}, 6)[0], together[k]) << "adapter " << k;
  }
  std::printf("batched adapters vs one at a time: first logits max diff %.3g\n", worst);
  EXPECT_LT(worst, 1e-4);
  EXPECT_THROW(batched->admit(p, 30, 3), Error);
}

TEST_F(BatchDecoderTest, SlotsAreHandedOutLowestFirstUntilFull) {
  auto decoder = BatchDecoder::load(dir_->path(), {}, {.n_slots = 2, .max_len = 8});
  EXPECT_EQ(decoder->acquire(), 0);
  EXPECT_EQ(decoder->acquire(), 1);
  EXPECT_EQ(decoder->acquire(), std::nullopt);
  decoder->release(0);
  EXPECT_EQ(decoder->acquire(), 0);
}

TEST_F(BatchDecoderTest, RejectsBadInput) {
  auto decoder = BatchDecoder::load(dir_->path(), {}, {.n_slots = 1, .max_len = 8});
  const int slot = decoder->acquire().value();
  EXPECT_THROW(decoder->prefill(slot, std::vector<TokenId>{}), Error);
  EXPECT_THROW(decoder->prefill(slot, std::vector<TokenId>{5, 100000}), Error);
  EXPECT_THROW(decoder->prefill(slot, prompt(9, 0)), Error);  // longer than max_len
  decoder->prefill(slot, prompt(8, 0));
  try {
    decoder->step(std::vector<BatchDecoder::StepInput>{{slot, 5}});
    FAIL() << "a full slot must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("full"), std::string::npos) << e.what();
  }
  EXPECT_THROW(decoder->step(std::vector<BatchDecoder::StepInput>{{slot, -1}}), Error);
}

TEST_F(BatchDecoderTest, RejectsBadOptionsAndMissingModel) {
  EXPECT_THROW(BatchDecoder::load(dir_->path(), {}, {.n_slots = 0}), Error);
  EXPECT_THROW(BatchDecoder::load(dir_->path(), {}, {.n_slots = 1, .max_len = 1 << 20}), Error);
  try {
    BatchDecoder::load(*dir_ / "missing", {}, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
}

TEST_F(BatchDecoderTest, LongDeclaredContextsGetABoundedCacheAndAllocationErrorsNameTheFlags) {
  // A published model's 128k context: the default cache is 4096 tokens a slot.
  testing::ScratchDir dir("batch-decoder-long");
  for (const auto& entry : std::filesystem::directory_iterator(dir_->path()))
    std::filesystem::copy(entry.path(), dir / entry.path().filename());
  nlohmann::json config = nlohmann::json::parse(read_file(dir / "config.json"));
  config["max_position_embeddings"] = 131072;
  write_file_atomic(dir / "config.json", config.dump());
  auto decoder = BatchDecoder::load(dir.path(), {}, {.n_slots = 2});
  EXPECT_EQ(decoder->max_len(), kDefaultMaxLen);
  // Asked for far more than any machine has: a one-line error naming the flags.
  try {
    BatchDecoder::load(dir.path(), {}, {.n_slots = 1 << 20, .max_len = 131072});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--max-concurrency"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

TEST_F(BatchDecoderTest, ChunkedPrefillGivesTheSameTokensAsWholePrefill) {
  auto decoder = BatchDecoder::load(dir_->path(), {}, {.n_slots = 2, .max_len = 64});
  const std::vector<TokenId> p = prompt(40, 6);
  const std::span<const TokenId> all(p);
  const int whole = decoder->acquire().value();
  std::vector<float> whole_logits = decoder->prefill(whole, p);
  const int chunked = decoder->acquire().value();
  decoder->extend(chunked, all.first(7));  // chunks across block boundaries
  decoder->extend(chunked, all.subspan(7, 16));
  std::vector<float> chunked_logits = decoder->extend(chunked, all.subspan(23));
  const double diff = max_diff(whole_logits, chunked_logits);
  std::printf("chunked prefill logits max diff %.3g\n", diff);
  EXPECT_LT(diff, 1e-5);
  auto tokens = greedy_steps(*decoder, {whole, chunked}, {whole_logits, chunked_logits}, 8);
  EXPECT_EQ(tokens[0], tokens[1]);
}

TEST_F(BatchDecoderTest, PrefixCacheHitGivesTheLogitsOfAMiss) {
  auto decoder = BatchDecoder::load(dir_->path(), {}, {.n_slots = 2, .max_len = 64});
  std::vector<TokenId> first = prompt(36, 7);  // a "system prompt" of two whole blocks and more
  std::vector<TokenId> second = first;
  first.insert(first.end(), {11, 12, 13});
  second.insert(second.end(), {21, 22, 23, 24, 25});
  const auto a = decoder->admit(first, 48).value();
  EXPECT_EQ(a.n_cached, 0);
  decoder->extend(a.slot, first);
  decoder->release(a.slot);
  const auto b = decoder->admit(second, 48).value();
  ASSERT_EQ(b.n_cached, 2 * kKvBlockSize);
  EXPECT_EQ(decoder->length(b.slot), b.n_cached);
  std::vector<float> hit = decoder->extend(b.slot, std::span<const TokenId>(second).subspan(32));
  EXPECT_EQ(decoder->cache_stats().prefix_hit_tokens, 32);

  auto uncached =
      BatchDecoder::load(dir_->path(), {}, {.n_slots = 1, .max_len = 64, .prefix_cache = false});
  const auto m = uncached->admit(second, 48).value();
  EXPECT_EQ(m.n_cached, 0);
  std::vector<float> miss = uncached->extend(m.slot, second);
  const double diff = max_diff(miss, hit);
  std::printf("prefix cache hit vs miss logits max diff %.3g\n", diff);
  EXPECT_LT(diff, 1e-5);
  EXPECT_EQ(greedy_steps(*decoder, {b.slot}, {hit}, 4),
            greedy_steps(*uncached, {m.slot}, {miss}, 4));
}

TEST_F(BatchDecoderTest, APoolTooFullMakesSequencesWaitAndTooSmallAPoolIsRefused) {
  const std::int64_t block_bytes =
      BatchDecoder::load(dir_->path(), {}, {.n_slots = 1, .max_len = 32})
          ->cache_stats()
          .block_bytes;
  // Three blocks of 16: one sequence of max_len (32) and half of another.
  auto decoder = BatchDecoder::load(
      dir_->path(), {}, {.n_slots = 3, .max_len = 32, .kv_cache_bytes = 3 * block_bytes});
  EXPECT_EQ(decoder->cache_stats().n_blocks, 3);
  const auto a = decoder->admit(prompt(5, 1), 32).value();  // reserves 2 blocks
  EXPECT_EQ(decoder->admit(prompt(5, 2), 32), std::nullopt);
  const auto c = decoder->admit(prompt(3, 3), 16).value();  // the last block
  decoder->extend(c.slot, prompt(3, 3));
  EXPECT_EQ(decoder->cache_stats().n_blocks_used, 1);
  decoder->release(a.slot);
  EXPECT_TRUE(decoder->admit(prompt(5, 2), 32).has_value());
  try {
    BatchDecoder::load(dir_->path(), {},
                       {.n_slots = 1, .max_len = 32, .kv_cache_bytes = block_bytes});
    FAIL() << "a pool smaller than one sequence must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--kv-cache-mb"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

// eval's batched generation: more requests than slots, of different
// lengths, greedy and sampled, one cut by a stop string and one with
// nothing to generate, through a decoder over the engine's own model with
// chunked prefill: each gives what Engine::generate gives it alone.
TEST_F(BatchDecoderTest, BatchedGenerationGivesTheTokensAndTextOfOneAtATime) {
  GenerateOptions greedy;
  greedy.max_tokens = 10;
  greedy.sampling.temperature = 0;
  std::vector<BatchGenerateRequest> requests;
  for (int i = 0; i < 4; ++i) requests.push_back({prompt(5 + 9 * i, i), greedy});
  GenerateOptions sampled;
  sampled.max_tokens = 12;
  sampled.sampling = {.temperature = 0.9, .top_p = 0.9, .seed = 7};
  requests.push_back({prompt(37, 3), sampled});  // starts like request 3
  // A stop string: a character that first appears in the second half of
  // a greedy text (the first prompt whose text has one), so the answer
  // stops midway.
  GenerateOptions with_stop = greedy;
  with_stop.max_tokens = 16;
  with_stop.ignore_eos = true;
  for (int salt = 9; salt < 40 && with_stop.stop.empty(); ++salt) {
    const std::string text = engine_->generate(prompt(20, salt), with_stop, nullptr).text;
    const auto at = std::find_if(
        text.begin() + static_cast<std::ptrdiff_t>(text.size() / 2), text.end(),
        [&](char ch) { return ch > ' ' && ch < 127 && text.find(ch) >= text.size() / 2; });
    if (at == text.end()) continue;
    with_stop.stop = {std::string(1, *at)};
    requests.push_back({prompt(20, salt), with_stop});
  }
  ASSERT_EQ(requests.size(), 6u) << "no prompt's greedy text has a new character midway";
  GenerateOptions nothing = greedy;
  nothing.max_tokens = 0;
  requests.push_back({prompt(4, 2), nothing});

  auto decoder = BatchDecoder::from_engine(*engine_, {.n_slots = 3, .max_len = 64});
  std::vector<std::size_t> finished;
  const std::vector<GenerateResult> got = generate_batch(
      *decoder, requests,
      {.prefill_chunk = 24, .on_done = [&](std::size_t i) { finished.push_back(i); }});
  ASSERT_EQ(got.size(), requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const GenerateResult expected = engine_->generate(requests[i].prompt, requests[i].options, {});
    std::printf("request %zu: %zu prompt tokens, %d generated (%s)\n", i, requests[i].prompt.size(),
                expected.n_generated, expected.finish_reason.c_str());
    EXPECT_EQ(got[i].tokens, expected.tokens) << "request " << i;
    EXPECT_EQ(got[i].text, expected.text) << "request " << i;
    EXPECT_EQ(got[i].finish_reason, expected.finish_reason) << "request " << i;
    EXPECT_EQ(got[i].n_generated, expected.n_generated) << "request " << i;
    EXPECT_EQ(got[i].n_prompt_tokens, expected.n_prompt_tokens) << "request " << i;
  }
  EXPECT_EQ(got[5].finish_reason, "stop");
  EXPECT_GT(got[5].n_generated, 1);
  EXPECT_LT(got[5].n_generated, 16);
  EXPECT_TRUE(got[6].tokens.empty());
  std::sort(finished.begin(), finished.end());
  EXPECT_EQ(finished, (std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(decoder->cache_stats().n_blocks_used, 0);  // every slot released

  // A request longer than the decoder's sequences is refused by name.
  auto small = BatchDecoder::from_engine(*engine_, {.n_slots = 1, .max_len = 16});
  const std::vector<BatchGenerateRequest> too_long = {{prompt(12, 1), greedy}};
  EXPECT_THROW(generate_batch(*small, too_long), Error);
}

}  // namespace
}  // namespace enclave
