// Log-likelihood requests scored through the model engine, the code path of
// `enclave score`: Engine::score one sequence at a time when batch_size is 1,
// Engine::score_batch for batches (tested to agree with score). Requests are
// sorted by length, longest first, so a batch pads little, and a batch never
// holds more than max_batch_tokens padded positions. With share_prefix,
// requests with the same context (the choices of one question) go through
// Engine::score_continuations: the context runs once, each choice costs only
// its own tokens.
// Thread safety: uses the engine; one call at a time per engine.
#pragma once

#include <cstdint>
#include <vector>

#include "core/progress.h"
#include "model/engine.h"

namespace enclave::eval {

// tokens = context + continuation; the last n_continuation tokens are scored.
// The context must hold at least one token.
struct LoglikelihoodRequest {
  std::vector<TokenId> tokens;
  std::size_t n_continuation = 0;
};

struct LoglikelihoodResult {
  double logprob = 0;   // sum over the continuation's tokens (nats)
  bool greedy = false;  // every continuation token was the argmax (only with need_greedy)
  std::size_t n_tokens = 0;
};

struct ScoreOptions {
  int batch_size = 8;
  std::int64_t max_batch_tokens = 32768;
  bool need_greedy = false;  // computes greedy (batched path, also for batch_size 1)
  bool share_prefix =
      false;  // score requests with equal contexts together (ignored for batch_size 1)
  Progress* progress = nullptr;  // advanced by one per request
};

// Results in request order. Throws Error(kInvalidInput) for a request with no
// context or no continuation, and whatever the engine throws.
std::vector<LoglikelihoodResult> score_requests(const Engine& engine,
                                                const std::vector<LoglikelihoodRequest>& requests,
                                                const ScoreOptions& options);

// Splits a token sequence longer than the context into requests that score
// every token after the first exactly once: window k feeds tokens
// [start - 1, start + max_len - 1) and scores all but its first token.
std::vector<LoglikelihoodRequest> rolling_windows(const std::vector<TokenId>& tokens,
                                                  std::int64_t max_len);

}  // namespace enclave::eval
