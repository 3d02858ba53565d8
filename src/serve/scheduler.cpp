#include "serve/scheduler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "model/generation_stream.h"
#include "serve/api_error.h"
#include "serve/metrics.h"

namespace enclave::serve {
namespace {

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Log-probabilities of the raw model distribution (before temperature and
// top-p, as vLLM reports them): the chosen token and the top k.
TokenLogprob token_logprob(const Tokenizer& tokenizer, TokenId token, const float* logits,
                           std::size_t n_vocab, int top_k) {
  const double max = *std::max_element(logits, logits + n_vocab);
  double sum = 0;
  for (std::size_t i = 0; i < n_vocab; ++i) sum += std::exp(static_cast<double>(logits[i]) - max);
  const double log_z = max + std::log(sum);
  TokenLogprob out;
  out.token = tokenizer.decode({token}, /*skip_special=*/false);
  out.logprob = logits[token] - log_z;
  if (top_k > 0) {
    std::vector<TokenId> ids(n_vocab);
    std::iota(ids.begin(), ids.end(), 0);
    const std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(top_k), n_vocab);
    std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(),
                      [&](TokenId a, TokenId b) { return logits[a] > logits[b]; });
    for (std::size_t i = 0; i < k; ++i) {
      out.top.emplace_back(tokenizer.decode({ids[i]}, false), logits[ids[i]] - log_z);
    }
  }
  return out;
}

}  // namespace

std::string_view to_string(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kCancelled:
      return "cancelled";
    case FinishReason::kTimeout:
      return "timeout";
    case FinishReason::kError:
      return "error";
  }
  return "error";
}

// --- Sequence ---

Sequence::Update Sequence::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, timeout, [&] { return !text_.empty() || !logprobs_.empty() || finished_; });
  Update u;
  u.text = std::move(text_);
  text_.clear();
  u.logprobs = std::move(logprobs_);
  logprobs_.clear();
  u.finished = finished_;
  u.reason = reason_;
  u.error = error_;
  return u;
}

int Sequence::n_generated() const {
  std::lock_guard lock(mutex_);
  return n_generated_;
}

double Sequence::time_to_first_token() const {
  std::lock_guard lock(mutex_);
  return ttft_;
}

void Sequence::publish(std::string text, std::vector<TokenLogprob> logprobs) {
  {
    std::lock_guard lock(mutex_);
    text_ += text;
    for (TokenLogprob& lp : logprobs) logprobs_.push_back(std::move(lp));
  }
  cv_.notify_all();
}

void Sequence::finish(FinishReason reason, std::string error) {
  {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    finished_ = true;
    reason_ = reason;
    error_ = std::move(error);
  }
  cv_.notify_all();
}

// --- Scheduler ---

struct Scheduler::Running {
  Running(std::shared_ptr<Sequence> s, int slot_index)
      : seq(std::move(s)),
        model(seq->request().model.get()),
        slot(slot_index),
        // Sampling, stop ids and strings, the token budget and the streamed
        // text are generation's own (the same as `generate` gives).
        stream(model->decoder->tokenizer(), seq->request().prompt,
               GenerateOptions{.max_tokens = seq->request().max_tokens,
                               .sampling = seq->request().sampling,
                               .stop = seq->request().stop},
               model->decoder->stop_ids(), model->decoder->max_len(),
               [this](std::string_view more) { text.append(more); }) {}

  std::shared_ptr<Sequence> seq;
  LoadedModel* model;
  int slot;
  std::string text;  // what the stream let out for the current token
  GenerationStream stream;
  TokenCounts counts;  // generated tokens only, for the OpenAI penalties
  TokenId last = 0;
  int n_generated = 0;
  int n_cached = 0;  // prompt tokens in the cache so far
  bool prefilling = true;
  Clock::time_point last_token;
  bool done = false;
};

Scheduler::Scheduler(SchedulerOptions options, Metrics* metrics)
    : options_(options), metrics_(metrics) {
  if (options_.max_concurrency < 1)
    fail_input("max-concurrency: must be >= 1, got {}", options_.max_concurrency);
  if (options_.max_queue < 1) fail_input("max-queue: must be >= 1, got {}", options_.max_queue);
  if (options_.prefill_chunk < 0)
    fail_input("prefill-chunk: must be >= 0, got {}", options_.prefill_chunk);
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  for (auto& run : running_) {
    if (!run->done) end(*run, FinishReason::kError, "server shutting down");
  }
  for (auto& seq : queue_) seq->finish(FinishReason::kError, "server shutting down");
}

std::shared_ptr<Sequence> Scheduler::submit(SequenceRequest request) {
  ENCLAVE_CHECK(request.model && request.model->decoder);
  auto seq = std::make_shared<Sequence>(std::move(request));
  {
    std::lock_guard lock(mutex_);
    if (stop_) throw ApiException(overloaded("the server is shutting down", 1));
    // Requests that free slots will take at the next step do not wait, so
    // they do not count against max_queue.
    const int free_slots = std::max(0, options_.max_concurrency - n_active_.load());
    if (static_cast<int>(queue_.size()) >= options_.max_queue + free_slots) {
      throw ApiException(
          overloaded(fmt::format("the server is busy: {} requests are already waiting; retry later",
                                 queue_.size()),
                     1));
    }
    queue_.push_back(seq);
    if (metrics_ != nullptr) metrics_->set_queue_depth(static_cast<int>(queue_.size()));
  }
  cv_.notify_all();
  return seq;
}

int Scheduler::queue_depth() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(queue_.size());
}

int Scheduler::active() const { return n_active_.load(); }

void Scheduler::loop() {
  while (true) {
    std::vector<std::unique_ptr<Running>> admitted;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty() || !running_.empty(); });
      if (stop_) return;
      const Clock::time_point now = Clock::now();
      for (auto it = queue_.begin(); it != queue_.end();) {
        if ((*it)->cancelled()) {
          (*it)->finish(FinishReason::kCancelled);
        } else if (now >= (*it)->request().deadline) {
          (*it)->finish(FinishReason::kTimeout, "timed out waiting for a batch slot");
        } else {
          ++it;
          continue;
        }
        if (metrics_ != nullptr) metrics_->count_finish(to_string((*it)->reason_));
        it = queue_.erase(it);
      }
      // Admission is bookkeeping only (no model work), so it runs under the
      // lock: a request leaves the queue exactly when it gets its slot and
      // blocks, and submit always sees who is still waiting.
      while (!queue_.empty() &&
             static_cast<int>(running_.size() + admitted.size()) < options_.max_concurrency &&
             admit(queue_.front(), admitted)) {
        queue_.pop_front();
      }
      if (metrics_ != nullptr) metrics_->set_queue_depth(static_cast<int>(queue_.size()));
    }
    for (auto& run : admitted) running_.push_back(std::move(run));
    if (metrics_ != nullptr) metrics_->set_active_sequences(static_cast<int>(running_.size()));

    const Clock::time_point now = Clock::now();
    for (auto& run : running_) {
      if (run->done) continue;
      if (run->seq->cancelled()) {
        end(*run, FinishReason::kCancelled);
      } else if (now >= run->seq->request().deadline) {
        end(*run, FinishReason::kTimeout, "request timed out");
      }
    }
    prefill_step();
    // One step per decoder: the base and its adapters decode in one batch.
    std::vector<BatchDecoder*> decoders;
    for (auto& run : running_) {
      BatchDecoder* decoder = run->model->decoder.get();
      if (!run->done && std::find(decoders.begin(), decoders.end(), decoder) == decoders.end()) {
        decoders.push_back(decoder);
      }
    }
    for (BatchDecoder* decoder : decoders) step_decoder(decoder);
    report_cache(decoders);
    drop_finished();
  }
}

bool Scheduler::admit(const std::shared_ptr<Sequence>& seq,
                      std::vector<std::unique_ptr<Running>>& admitted) {
  const SequenceRequest& req = seq->request();
  BatchDecoder& decoder = *req.model->decoder;
  const int n_prompt = static_cast<int>(req.prompt.size());
  const int budget = std::min(req.max_tokens, decoder.max_len() - n_prompt);
  std::optional<BatchDecoder::Admission> admission;
  std::unique_ptr<Running> run;
  try {
    if (budget <= 0) {
      seq->finish(FinishReason::kLength);
      if (metrics_ != nullptr) metrics_->count_finish(to_string(FinishReason::kLength));
      return true;
    }
    admission = decoder.admit(req.prompt, n_prompt + budget, req.model->adapter);
    // No slot (across a reload, the old model's sequences hold them) or
    // not enough free KV blocks yet: it and those behind it wait, in
    // order, for running sequences to end.
    if (!admission) return false;
    run = std::make_unique<Running>(seq, admission->slot);
  } catch (const std::exception& e) {
    if (admission) decoder.release(admission->slot);
    seq->finish(FinishReason::kError, e.what());
    if (metrics_ != nullptr) metrics_->count_finish(to_string(FinishReason::kError));
    return true;
  }
  run->n_cached = admission->n_cached;
  ++n_active_;
  if (metrics_ != nullptr) metrics_->count_prefix_cache(n_prompt, admission->n_cached);
  admitted.push_back(std::move(run));
  return true;
}

// Up to prefill_chunk prompt tokens, oldest sequence first; a sequence whose
// prompt is complete gets its first token.
void Scheduler::prefill_step() {
  int left = options_.prefill_chunk > 0 ? options_.prefill_chunk : std::numeric_limits<int>::max();
  for (auto& run : running_) {
    if (left <= 0) break;
    if (run->done || !run->prefilling) continue;
    const std::vector<TokenId>& prompt = run->seq->request().prompt;
    const int n = std::min(static_cast<int>(prompt.size()) - run->n_cached, left);
    try {
      std::vector<float> logits = run->model->decoder->extend(
          run->slot, std::span<const TokenId>(prompt).subspan(run->n_cached, n));
      run->n_cached += n;
      left -= n;
      if (run->n_cached == static_cast<int>(prompt.size())) {
        run->prefilling = false;
        emit(*run, pick(*run, logits), logits.data());
      }
    } catch (const std::exception& e) {
      end(*run, FinishReason::kError, e.what());
    }
  }
}

void Scheduler::report_cache(const std::vector<BatchDecoder*>& decoders) {
  if (metrics_ == nullptr) return;
  if (decoders.empty()) {
    metrics_->set_kv_cache_blocks(0, kv_blocks_total_);  // the last pool seen, now idle
    return;
  }
  std::int64_t used = 0;
  kv_blocks_total_ = 0;
  for (BatchDecoder* decoder : decoders) {
    const BatchDecoder::CacheStats stats = decoder->cache_stats();
    used += stats.n_blocks_used;
    kv_blocks_total_ += stats.n_blocks;
  }
  metrics_->set_kv_cache_blocks(used, kv_blocks_total_);
}

void Scheduler::step_decoder(BatchDecoder* decoder) {
  std::vector<Running*> rows;
  std::vector<BatchDecoder::StepInput> inputs;
  for (auto& run : running_) {
    if (run->done || run->prefilling || run->model->decoder.get() != decoder) continue;
    rows.push_back(run.get());
    inputs.push_back({run->slot, run->last});
  }
  if (rows.empty()) return;
  std::vector<float> logits;
  try {
    logits = decoder->step(inputs);
  } catch (const std::exception& e) {
    for (Running* run : rows) end(*run, FinishReason::kError, e.what());
    return;
  }
  const std::size_t V = logits.size() / rows.size();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    Running& run = *rows[r];
    const float* row = logits.data() + r * V;
    try {
      emit(run, pick(run, std::span<const float>(row, V)), row);
    } catch (const std::exception& e) {
      end(run, FinishReason::kError, e.what());
    }
  }
}

// Samples the next token after the request's penalties and grammar have
// adjusted a copy of the logits (logprobs still report the model's own).
TokenId Scheduler::pick(Running& run, std::span<const float> logits) {
  const SequenceRequest& req = run.seq->request();
  TokenId token = 0;
  if (!req.penalties.active() && !req.constraint) {
    token = run.stream.sample(logits);
  } else {
    std::vector<float> adjusted(logits.begin(), logits.end());
    apply_penalties(adjusted, run.counts, req.penalties);
    if (req.constraint) req.constraint->mask(adjusted);
    token = run.stream.sample(adjusted);
    if (req.constraint) req.constraint->accept(token);
  }
  ++run.counts[token];
  return token;
}

bool Scheduler::emit(Running& run, TokenId token, const float* logits) {
  const Clock::time_point now = Clock::now();
  Sequence& seq = *run.seq;
  const SequenceRequest& req = seq.request();
  const BatchDecoder& decoder = *run.model->decoder;
  if (run.n_generated == 0) {
    const double ttft = seconds_between(req.arrival, now);
    {
      std::lock_guard lock(seq.mutex_);
      seq.ttft_ = ttft;
    }
    if (metrics_ != nullptr) metrics_->observe_time_to_first_token(ttft);
  } else if (metrics_ != nullptr) {
    metrics_->observe_time_per_output_token(seconds_between(run.last_token, now));
  }
  run.last_token = now;
  ++run.n_generated;
  {
    std::lock_guard lock(seq.mutex_);
    seq.n_generated_ = run.n_generated;
  }
  run.last = token;

  std::vector<TokenLogprob> logprobs;
  if (req.logprobs && !run.stream.is_stop_id(token)) {
    logprobs.push_back(token_logprob(decoder.tokenizer(), token, logits,
                                     static_cast<std::size_t>(decoder.config().vocab_size),
                                     req.top_logprobs));
  }
  run.text.clear();
  const bool goes_on = run.stream.push_token(token);
  seq.publish(std::move(run.text), std::move(logprobs));
  if (goes_on) return true;
  end(run,
      run.stream.result().finish_reason == "stop" ? FinishReason::kStop : FinishReason::kLength);
  return false;
}

void Scheduler::end(Running& run, FinishReason reason, const std::string& error) {
  if (run.done) return;
  run.done = true;
  --n_active_;  // before the reader can see the end, so submit counts the slot free
  run.model->decoder->release(run.slot);
  run.seq->finish(reason, error);
  if (metrics_ != nullptr) metrics_->count_finish(to_string(reason));
}

void Scheduler::drop_finished() {
  std::erase_if(running_, [](const std::unique_ptr<Running>& run) { return run->done; });
  if (metrics_ != nullptr) metrics_->set_active_sequences(static_cast<int>(running_.size()));
}

}  // namespace enclave::serve
