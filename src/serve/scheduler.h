// Scheduler: continuous batching. Requests wait in a bounded FIFO queue; one
// thread admits them into the running batch whenever a slot is free and the
// model's paged KV pool can hold the prompt and max_tokens (else the head of
// the queue waits for blocks to come back, and submit answers 503 once the
// queue is full), then advances every running sequence by one token per
// step (BatchDecoder::step), so sequences join and leave between any two
// steps and a long generation never holds up a short one. Prompts are
// prefilled in chunks of at most prefill_chunk tokens per step between the
// decode steps (chunked prefill, Sarathi: Agrawal et al. 2023), so a long
// prompt delays the other streams by one chunk at a time, not its whole
// length. Output goes into each
// Sequence's own buffer, which never blocks: a slow (or stalled) reader of
// one stream cannot slow down the batch. A cancelled (client gone) or
// expired sequence leaves the batch at the next step.
//
// Each sequence is bound to the LoadedModel it was tokenized for, so a hot
// reload only changes where new requests go: sequences on the old model run
// to the end on it, and the old model is freed with its last sequence.
// Thread safety: submit, depth and active may be called from any thread;
// a Sequence is shared by the scheduler (writer) and one reader.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "model/batch_decoder.h"
#include "model/sampling.h"
#include "serve/logits_processor.h"

namespace enclave::serve {

class Metrics;

// A model ready to serve: the base (or base + adapter) in a BatchDecoder.
struct LoadedModel {
  std::string id;                          // the name requests use in "model" and /v1/models shows
  std::string version;                     // what was loaded: "name@3" or the directory
  std::optional<std::int64_t> version_id;  // registry version row, if any
  // An adapter given as a registry reference: its version row, so requests
  // served through it link to the exact adapter as well as the base.
  std::optional<std::int64_t> adapter_version_id;
  // Shared by the base and its adapters (one batch, one KV pool).
  std::shared_ptr<BatchDecoder> decoder;
  int adapter = 0;  // the decoder's adapter id for this model; 0 = the base
};

struct TokenLogprob {
  std::string token;
  double logprob = 0;
  std::vector<std::pair<std::string, double>> top;  // most likely first
};

enum class FinishReason { kStop, kLength, kCancelled, kTimeout, kError };
std::string_view to_string(FinishReason reason);  // "stop", "length", ...

using Clock = std::chrono::steady_clock;

struct SequenceRequest {
  std::shared_ptr<LoadedModel> model;
  std::vector<TokenId> prompt;
  int max_tokens = 16;
  SamplingParams sampling;
  PenaltyParams penalties;
  // Grammar the output must follow, or null; used by the scheduler thread only.
  std::shared_ptr<TokenConstraint> constraint;
  std::vector<std::string> stop;
  bool logprobs = false;
  int top_logprobs = 0;
  Clock::time_point arrival = Clock::now();
  Clock::time_point deadline = Clock::time_point::max();
};

class Sequence {
 public:
  explicit Sequence(SequenceRequest request) : request_(std::move(request)) {}

  // What arrived since the previous call.
  struct Update {
    std::string text;
    std::vector<TokenLogprob> logprobs;
    bool finished = false;
    FinishReason reason = FinishReason::kStop;
    std::string error;  // kError only
  };
  // Waits until there is new text or the end, at most `timeout`.
  Update wait(std::chrono::milliseconds timeout);
  // Asks the scheduler to drop the sequence (at the next step).
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

  const SequenceRequest& request() const { return request_; }
  int n_prompt() const { return static_cast<int>(request_.prompt.size()); }
  // Valid once finished.
  int n_generated() const;
  // Seconds from arrival to the first generated token (0 if none).
  double time_to_first_token() const;

 private:
  friend class Scheduler;
  void publish(std::string text, std::vector<TokenLogprob> logprobs);
  void finish(FinishReason reason, std::string error = "");

  SequenceRequest request_;
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::string text_;
  std::vector<TokenLogprob> logprobs_;
  bool finished_ = false;
  FinishReason reason_ = FinishReason::kStop;
  std::string error_;
  int n_generated_ = 0;
  double ttft_ = 0;
};

// Prompt tokens prefilled per scheduler step by default: long enough that
// the chunk's matrix products run at full speed, short enough that the
// streams decoding beside it wait for a fraction of a second on CPU models.
inline constexpr int kDefaultPrefillChunk = 512;

struct SchedulerOptions {
  int max_concurrency = 8;  // sequences in the batch, over all models
  int max_queue = 64;       // waiting sequences; more are refused
  // Prompt tokens prefilled per step, over all sequences (--prefill-chunk);
  // 0 = each prompt whole as soon as it is admitted.
  int prefill_chunk = kDefaultPrefillChunk;
};

class Scheduler {
 public:
  // metrics may be null.
  Scheduler(SchedulerOptions options, Metrics* metrics);
  // Stops the thread; unfinished sequences end with kError "server shutting down".
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a request. Throws ApiException(503, Retry-After) when max_queue
  // requests beyond those the free slots will take are already waiting.
  std::shared_ptr<Sequence> submit(SequenceRequest request);

  int queue_depth() const;
  int active() const;

 private:
  struct Running;
  void loop();
  // Takes seq into `admitted` (slot and KV blocks reserved), or ends it
  // (nothing to generate, bad prompt): true, it leaves the queue; false: it
  // must wait. Called with mutex_ held.
  bool admit(const std::shared_ptr<Sequence>& seq, std::vector<std::unique_ptr<Running>>& admitted);
  void prefill_step();
  void step_decoder(BatchDecoder* decoder);
  void report_cache(const std::vector<BatchDecoder*>& decoders);
  void drop_finished();
  TokenId pick(Running& run, std::span<const float> logits);
  bool emit(Running& run, TokenId token, const float* logits);
  void end(Running& run, FinishReason reason, const std::string& error = "");

  SchedulerOptions options_;
  Metrics* metrics_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Sequence>> queue_;
  std::atomic<int> n_active_{0};
  bool stop_ = false;
  std::vector<std::unique_ptr<Running>> running_;  // scheduler thread only
  std::int64_t kv_blocks_total_ = 0;               // scheduler thread only
  std::thread thread_;
};

}  // namespace enclave::serve
