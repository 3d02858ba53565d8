#include "model/generation_stream.h"

#include <algorithm>

#include "core/error.h"

namespace enclave {

void validate_tokens(std::span<const TokenId> tokens, const ModelConfig& config,
                     std::string_view what) {
  if (tokens.empty()) fail_input("{}: no tokens", what);
  if (static_cast<std::int64_t>(tokens.size()) > config.max_position_embeddings) {
    fail_input("{}: {} tokens exceed the model's context of {} (max_position_embeddings)", what,
               tokens.size(), config.max_position_embeddings);
  }
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= config.vocab_size) {
      fail_input("{}: token {} at index {} is outside the vocabulary [0, {})", what, tokens[i], i,
                 config.vocab_size);
    }
  }
}

GenerationStream::GenerationStream(const Tokenizer& tokenizer, std::span<const TokenId> prompt,
                                   const GenerateOptions& options,
                                   std::span<const TokenId> stop_ids, std::int64_t context,
                                   std::function<void(std::string_view)> on_text)
    : stop_ids_(stop_ids),
      ignore_eos_(options.ignore_eos),
      on_text_(std::move(on_text)),
      sampler_(options.sampling),
      filter_(options.stop),
      decoder_(tokenizer),
      history_(prompt.begin(), prompt.end()) {
  if (options.max_tokens < 0)
    fail_input("generate: max_tokens must be >= 0, got {}", options.max_tokens);
  const auto n_prompt = static_cast<std::int64_t>(prompt.size());
  budget_ = static_cast<int>(
      std::max<std::int64_t>(0, std::min<std::int64_t>(options.max_tokens, context - n_prompt)));
  result_.n_prompt_tokens = static_cast<int>(prompt.size());
  result_.finish_reason = "length";
  finished_ = budget_ == 0;
}

void GenerationStream::emit(const std::string& text) {
  if (text.empty()) return;
  result_.text += text;
  if (on_text_) on_text_(text);
}

void GenerationStream::finish() {
  // Text held back by the decoder or the stop-string filter ends here,
  // unless a stop string already cut it.
  if (!filter_.stopped()) {
    emit(filter_.push(decoder_.flush()));
    emit(filter_.flush());
    if (filter_.stopped()) result_.finish_reason = "stop";
  }
  result_.n_generated = static_cast<int>(result_.tokens.size());
  finished_ = true;
}

bool GenerationStream::is_stop_id(TokenId token) const {
  return !ignore_eos_ && std::find(stop_ids_.begin(), stop_ids_.end(), token) != stop_ids_.end();
}

bool GenerationStream::push_token(TokenId token) {
  ENCLAVE_CHECK(!finished_);
  history_.push_back(token);
  result_.tokens.push_back(token);
  if (is_stop_id(token)) {
    result_.finish_reason = "stop";
    finish();
    return false;
  }
  emit(filter_.push(decoder_.push(token)));
  if (filter_.stopped()) {
    result_.finish_reason = "stop";
    finish();
    return false;
  }
  if (static_cast<int>(result_.tokens.size()) >= budget_) {
    finish();
    return false;
  }
  return true;
}

}  // namespace enclave
