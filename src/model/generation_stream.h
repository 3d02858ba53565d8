// GenerationStream: the output side of one sequence's generation, after its
// prompt: sampling each next token from the model's logits (sampling.h),
// the stop rules (stop ids unless ignore_eos, stop strings through
// stop_strings.h, max_tokens, the model's context) and the streamed text
// (StreamDecoder). The model side is the caller's: generate_tokens feeds it
// from a single-sequence KV cache, generate_batch from a BatchDecoder slot
// and the server's scheduler from its batch (choosing each token itself,
// after penalties and grammars), so all give the same tokens and text for
// the same logits. Also here:
// validate_tokens, the check of a forward pass's ids both paths share.
// Torch-free. Thread safety: none; one stream per sequence.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "model/config.h"
#include "model/engine.h"  // GenerateOptions, GenerateResult
#include "model/sampling.h"
#include "model/stop_strings.h"
#include "text/tokenizer.h"

namespace enclave {

// Checks ids for a forward pass: non-empty, each in [0, vocab_size), at most
// max_position_embeddings long. `what` names the caller in errors.
void validate_tokens(std::span<const TokenId> tokens, const ModelConfig& config,
                     std::string_view what);

class GenerationStream {
 public:
  // A stream after `prompt` for a model of `context` positions
  // (max_position_embeddings). tokenizer, stop_ids and on_text (may be
  // empty) must outlive the stream. Throws Error(kInvalidInput) for
  // max_tokens < 0, bad sampling params or an empty stop string.
  GenerationStream(const Tokenizer& tokenizer, std::span<const TokenId> prompt,
                   const GenerateOptions& options, std::span<const TokenId> stop_ids,
                   std::int64_t context, std::function<void(std::string_view)> on_text = {});

  // Tokens it may generate: min(max_tokens, context - prompt size), at
  // least 0. A stream with budget 0 is finished from the start (finish
  // reason "length", no text); the model needs cache room for the prompt
  // and budget - 1 more tokens (the last token is never fed back).
  int budget() const { return budget_; }
  bool finished() const { return finished_; }

  // Samples the next token from the logits of the sequence's last position
  // (vocabulary size values) and applies the stop rules. Returns true when
  // the generation goes on: feed last() to the model and push its logits;
  // false when it is over (result() is complete). ENCLAVE_CHECK when
  // already finished.
  bool push(std::span<const float> logits) { return push_token(sample(logits)); }
  TokenId last() const { return result_.tokens.back(); }

  // The two halves of push, for a caller that adjusts the logits first
  // (penalties, a grammar): the next token by the stream's sampler over
  // the prompt and the tokens so far, and the stop rules and text for the
  // token chosen.
  TokenId sample(std::span<const float> logits) { return sampler_.sample(logits, history_); }
  bool push_token(TokenId token);
  // True when token ends the generation by itself (a stop id, unless ignore_eos).
  bool is_stop_id(TokenId token) const;

  // text, tokens, n_prompt_tokens, n_generated, finish_reason; the timings
  // are the caller's to fill.
  const GenerateResult& result() const { return result_; }
  GenerateResult take_result() { return std::move(result_); }

 private:
  void emit(const std::string& text);
  void finish();

  std::span<const TokenId> stop_ids_;
  bool ignore_eos_ = false;
  std::function<void(std::string_view)> on_text_;
  Sampler sampler_;
  StopStringFilter filter_;
  StreamDecoder decoder_;
  std::vector<TokenId> history_;  // prompt + generated, for the repetition penalty
  int budget_ = 0;
  bool finished_ = false;
  GenerateResult result_;
};

}  // namespace enclave
