#include "serve/scheduler.h"

#include <gtest/gtest.h>

#include "core/scratch_dir_testing.h"
#include "serve/api_error.h"
#include "serve/metrics.h"

namespace enclave::serve {
namespace {

struct Outcome {
  std::string text;
  std::vector<TokenLogprob> logprobs;
  FinishReason reason = FinishReason::kError;
  int n_generated = 0;
};

Outcome collect(Sequence& seq) {
  Outcome out;
  Sequence::Update u;
  do {
    u = seq.wait(std::chrono::milliseconds(1000));
    out.text += u.text;
    for (auto& lp : u.logprobs) out.logprobs.push_back(lp);
  } while (!u.finished);
  out.reason = u.reason;
  out.n_generated = seq.n_generated();
  return out;
}

class SchedulerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::ScratchDir("scheduler");
    init_model("tiny", dir_->path(), /*seed=*/5);
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::shared_ptr<LoadedModel> load(int n_slots, int max_len = 256,
                                           std::int64_t kv_cache_bytes = 0) {
    auto m = std::make_shared<LoadedModel>();
    m->id = "tiny";
    m->version = dir_->path().string();
    m->decoder = BatchDecoder::load(
        dir_->path(), {},
        {.n_slots = n_slots, .max_len = max_len, .kv_cache_bytes = kv_cache_bytes});
    return m;
  }
  static SequenceRequest request(const std::shared_ptr<LoadedModel>& model,
                                 const std::string& prompt, int max_tokens, std::uint64_t seed,
                                 double temperature = 0.8) {
    SequenceRequest r;
    r.model = model;
    r.prompt = model->decoder->tokenizer().encode(prompt, true);
    r.max_tokens = max_tokens;
    r.sampling.temperature = temperature;
    r.sampling.seed = seed;
    return r;
  }
  static testing::ScratchDir* dir_;
};
testing::ScratchDir* SchedulerTest::dir_ = nullptr;

TEST_F(SchedulerTest, ConcurrentSequencesGiveTheSameTextAsSequentialOnes) {
  auto model = load(4);
  Metrics metrics;
  // Small prefill chunks: prompts are prefilled between the others' steps.
  Scheduler scheduler({.max_concurrency = 4, .max_queue = 16, .prefill_chunk = 3}, &metrics);
  const std::vector<std::string> prompts = {
      "The quick brown fox", "Once upon a time", "In the beginning", "Data is", "A model", "Hello"};
  std::vector<Outcome> sequential;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    sequential.push_back(
        collect(*scheduler.submit(request(model, prompts[i], 8 + 5 * i, 100 + i))));
  }
  std::vector<std::shared_ptr<Sequence>> running;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    running.push_back(scheduler.submit(request(model, prompts[i], 8 + 5 * i, 100 + i)));
  }
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    Outcome got = collect(*running[i]);
    EXPECT_EQ(got.text, sequential[i].text) << "prompt " << i;
    EXPECT_EQ(got.n_generated, sequential[i].n_generated);
    EXPECT_NE(got.reason, FinishReason::kError);
  }
  EXPECT_GT(metrics.render().find("enclave_time_to_first_token_seconds_count 12"), 0u);
}

TEST_F(SchedulerTest, StopStringCutsTheTextAndMaxTokensEndsWithLength) {
  auto model = load(2);
  Scheduler scheduler({.max_concurrency = 2, .max_queue = 4}, nullptr);
  SequenceRequest r = request(model, "The quick brown fox", 30, 1, /*temperature=*/0);
  Outcome free_run = collect(*scheduler.submit(r));
  ASSERT_GE(free_run.text.size(), 6u) << free_run.text;
  const std::string stop = free_run.text.substr(free_run.text.size() / 2, 3);
  const std::string expected = free_run.text.substr(0, free_run.text.find(stop));
  r.stop = {stop};
  Outcome stopped = collect(*scheduler.submit(r));
  EXPECT_EQ(stopped.text, expected);
  EXPECT_EQ(stopped.reason, FinishReason::kStop);

  Outcome short_run = collect(*scheduler.submit(request(model, "The quick brown fox", 3, 1, 0)));
  if (short_run.reason == FinishReason::kLength) EXPECT_EQ(short_run.n_generated, 3);
  EXPECT_LE(short_run.n_generated, 3);
}

TEST_F(SchedulerTest, CancelledAndExpiredSequencesLeaveTheBatch) {
  auto model = load(2);
  Scheduler scheduler({.max_concurrency = 2, .max_queue = 4}, nullptr);
  SequenceRequest long_request = request(model, "Once upon a time", 200, 3);
  long_request.stop.clear();
  auto seq = scheduler.submit(long_request);
  seq->wait(std::chrono::milliseconds(2000));
  seq->cancel();
  Outcome cancelled = collect(*seq);
  EXPECT_EQ(cancelled.reason, FinishReason::kCancelled);
  EXPECT_LT(cancelled.n_generated, 200);

  long_request.deadline = Clock::now() + std::chrono::milliseconds(30);
  Outcome expired = collect(*scheduler.submit(long_request));
  EXPECT_EQ(expired.reason, FinishReason::kTimeout);
  // The slot is freed right after the reader sees the end.
  for (int i = 0; i < 100 && scheduler.active() != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(scheduler.active(), 0);
}

TEST_F(SchedulerTest, AFullQueueRefusesWith503) {
  auto model = load(1);
  Scheduler scheduler({.max_concurrency = 1, .max_queue = 1}, nullptr);
  SequenceRequest r = request(model, "Once upon a time", 200, 3);
  auto first = scheduler.submit(r);
  first->wait(std::chrono::milliseconds(2000));  // running: out of the queue
  auto second = scheduler.submit(r);             // waits
  try {
    scheduler.submit(r);
    FAIL() << "the third request must be refused";
  } catch (const ApiException& e) {
    EXPECT_EQ(e.error().status, 503);
    EXPECT_TRUE(e.error().retry_after.has_value());
  }
  first->cancel();
  second->cancel();
  collect(*first);
  collect(*second);
}

// A KV pool with room for one sequence: the others wait for its blocks
// (beyond the queue they are refused with 503), the running stream is
// unharmed, and every waiting request is served once blocks come back.
TEST_F(SchedulerTest, AFullKvPoolMakesRequestsWaitThenRefusesWith503) {
  const std::int64_t block_bytes = load(1, 64)->decoder->cache_stats().block_bytes;
  auto model = load(2, /*max_len=*/64, /*kv_cache_bytes=*/4 * block_bytes);  // 64 tokens in all
  Metrics metrics;
  Scheduler scheduler({.max_concurrency = 2, .max_queue = 1}, &metrics);
  SequenceRequest big = request(model, "Once upon a time", 100, 3, /*temperature=*/0);
  big.stop.clear();
  const Outcome alone = collect(*scheduler.submit(big));
  ASSERT_EQ(alone.reason, FinishReason::kLength);

  auto first = scheduler.submit(big);  // takes the whole pool
  std::vector<std::shared_ptr<Sequence>> waiting;
  for (int i = 0; i < 2; ++i)
    waiting.push_back(scheduler.submit(request(model, "Hello", 4, 7 + i)));
  try {
    scheduler.submit(request(model, "Hello", 4, 9));
    FAIL() << "a request beyond the queue must be refused";
  } catch (const ApiException& e) {
    EXPECT_EQ(e.error().status, 503);
    EXPECT_TRUE(e.error().retry_after.has_value());
  }
  const Outcome got = collect(*first);
  EXPECT_EQ(got.text, alone.text);
  EXPECT_EQ(got.n_generated, alone.n_generated);
  for (auto& seq : waiting) EXPECT_NE(collect(*seq).reason, FinishReason::kError);
  EXPECT_NE(metrics.render().find("enclave_kv_cache_blocks 4"), std::string::npos);
}

TEST_F(SchedulerTest, APrefixCacheHitIsCountedAndGivesTheSameText) {
  auto model = load(1);
  Metrics metrics;
  Scheduler scheduler({.max_concurrency = 1, .max_queue = 4}, &metrics);
  const std::string system =
      "You are a helpful assistant. Answer briefly and politely, in plain words, and never "
      "make anything up. ";
  const Outcome miss = collect(*scheduler.submit(request(model, system + "Hi", 6, 1, 0)));
  EXPECT_EQ(metrics.prefix_cache_hits(), 0u);
  collect(*scheduler.submit(request(model, system + "Hello there", 6, 1, 0)));
  EXPECT_EQ(metrics.prefix_cache_hits(), 1u);
  const Outcome hit = collect(*scheduler.submit(request(model, system + "Hi", 6, 1, 0)));
  EXPECT_EQ(hit.text, miss.text);
  EXPECT_EQ(metrics.prefix_cache_hits(), 2u);
}

TEST_F(SchedulerTest, ReportsLogprobsOfTheRawDistribution) {
  auto model = load(1);
  Scheduler scheduler({.max_concurrency = 1, .max_queue = 1}, nullptr);
  SequenceRequest r = request(model, "Hello", 5, 9, /*temperature=*/0);
  r.logprobs = true;
  r.top_logprobs = 3;
  Outcome out = collect(*scheduler.submit(r));
  ASSERT_FALSE(out.logprobs.empty());
  for (const TokenLogprob& lp : out.logprobs) {
    EXPECT_LE(lp.logprob, 0.0);
    ASSERT_EQ(lp.top.size(), 3u);
    EXPECT_GE(lp.top[0].second, lp.top[1].second);
    EXPECT_NEAR(lp.top[0].second, lp.logprob, 1e-9);  // greedy picks the top token
  }
}

TEST_F(SchedulerTest, RejectsBadOptions) {
  EXPECT_THROW(Scheduler({.max_concurrency = 0, .max_queue = 1}, nullptr), Error);
  EXPECT_THROW(Scheduler({.max_concurrency = 1, .max_queue = 0}, nullptr), Error);
}

}  // namespace
}  // namespace enclave::serve
