#include "model/batch_generation.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <memory>

#include "core/error.h"
#include "model/generation_stream.h"

namespace enclave {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// A request in the batch: its slot, how much of its prompt is cached, and
// its output so far.
struct Active {
  Active(std::size_t i, int s, int cached, GenerationStream out)
      : index(i), slot(s), n_cached(cached), stream(std::move(out)) {}
  std::size_t index;
  int slot;
  int n_cached;
  GenerationStream stream;
  bool prefilling = true;
  bool done = false;
  Clock::time_point admitted = Clock::now();
  Clock::time_point first_token;
};

}  // namespace

std::vector<GenerateResult> generate_batch(BatchDecoder& decoder,
                                           std::span<const BatchGenerateRequest> requests,
                                           const BatchGenerateOptions& options) {
  if (options.prefill_chunk < 0)
    fail_input("generate: prefill_chunk must be >= 0, got {}", options.prefill_chunk);
  const ModelConfig& config = decoder.config();
  std::vector<GenerateResult> results(requests.size());
  std::vector<std::unique_ptr<Active>> active;
  auto done = [&](std::size_t index, GenerateResult result) {
    results[index] = std::move(result);
    if (options.on_done) options.on_done(index);
  };
  auto finish = [&](Active& a) {
    a.done = true;
    decoder.release(a.slot);
    GenerateResult r = a.stream.take_result();
    r.prompt_seconds = seconds_between(a.admitted, a.first_token);
    r.decode_seconds = seconds_between(a.first_token, Clock::now());
    done(a.index, std::move(r));
  };
  // Samples a's next token from its logits; false once it has finished.
  auto advance = [&](Active& a, std::span<const float> logits) {
    if (a.prefilling) {
      a.prefilling = false;
      a.first_token = Clock::now();
    }
    if (a.stream.push(logits)) return true;
    finish(a);
    return false;
  };

  try {
    std::size_t next = 0;
    while (next < requests.size() || !active.empty()) {
      // Admission, in request order; a request the pool cannot hold yet
      // waits (with those behind it) for running ones to end.
      while (next < requests.size() && static_cast<int>(active.size()) < decoder.n_slots()) {
        const BatchGenerateRequest& req = requests[next];
        validate_tokens(req.prompt, config, fmt::format("generate: request {}: prompt", next));
        GenerationStream stream(decoder.tokenizer(), req.prompt, req.options, decoder.stop_ids(),
                                config.max_position_embeddings);
        if (stream.finished()) {
          done(next++, stream.take_result());
          continue;
        }
        const int n_prompt = static_cast<int>(req.prompt.size());
        const int n_tokens = n_prompt + stream.budget() - 1;
        if (n_tokens > decoder.max_len()) {
          fail_input(
              "generate: request {}: a prompt of {} tokens and {} to generate need {} cache "
              "positions; the batch decoder holds {} per sequence",
              next, n_prompt, stream.budget(), n_tokens, decoder.max_len());
        }
        std::optional<BatchDecoder::Admission> admission = decoder.admit(req.prompt, n_tokens);
        if (!admission) {
          if (active.empty()) {
            fail_input("generate: request {}: the KV pool cannot hold its {} tokens", next,
                       n_tokens);
          }
          break;
        }
        active.push_back(std::make_unique<Active>(next++, admission->slot, admission->n_cached,
                                                  std::move(stream)));
      }

      // Prompts, oldest first, up to prefill_chunk tokens in all; a prompt
      // that completes gives its sequence's first token.
      int left =
          options.prefill_chunk > 0 ? options.prefill_chunk : std::numeric_limits<int>::max();
      for (auto& a : active) {
        if (left <= 0) break;
        if (!a->prefilling) continue;
        const std::vector<TokenId>& prompt = requests[a->index].prompt;
        const int n = std::min(static_cast<int>(prompt.size()) - a->n_cached, left);
        std::vector<float> logits =
            decoder.extend(a->slot, std::span<const TokenId>(prompt).subspan(a->n_cached, n));
        a->n_cached += n;
        left -= n;
        if (a->n_cached == static_cast<int>(prompt.size())) advance(*a, logits);
      }

      // One token for every sequence past its prompt.
      std::vector<Active*> rows;
      std::vector<BatchDecoder::StepInput> inputs;
      for (auto& a : active) {
        if (a->done || a->prefilling) continue;
        rows.push_back(a.get());
        inputs.push_back({a->slot, a->stream.last()});
      }
      if (!rows.empty()) {
        const std::vector<float> logits = decoder.step(inputs);
        const std::size_t V = logits.size() / rows.size();
        for (std::size_t r = 0; r < rows.size(); ++r)
          advance(*rows[r], std::span<const float>(logits.data() + r * V, V));
      }
      std::erase_if(active, [](const std::unique_ptr<Active>& a) { return a->done; });
    }
  } catch (...) {
    for (auto& a : active) {
      if (!a->done) decoder.release(a->slot);
    }
    throw;
  }
  return results;
}

}  // namespace enclave
