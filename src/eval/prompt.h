// Prompts: which few-shot examples a document gets and the text (and tokens)
// the model sees. Plain mode follows lm-evaluation-harness:
//   description + fewshot_delimiter
//   + for each example: text + target_delimiter + target + fewshot_delimiter
//   + doc_to_text(doc)
// Chat mode renders the same pieces as messages through the model's chat
// template: description as the system message, each example as a user turn
// and an assistant turn, the document as the last user turn, then the
// assistant header.
// Few-shot examples are drawn without replacement by a seeded generator from
// the few-shot pool, never including the document itself when the pool is
// the evaluation split; the same seed, pool and document index always give
// the same examples.
// Thread safety: a PromptBuilder is immutable after construction; its
// methods are const and safe from many threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "eval/task_docs.h"
#include "eval/task_spec.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace enclave::eval {

// k distinct indices in [0, pool_size), skipping `exclude`, chosen by
// (seed, doc_index). Throws Error(kInvalidInput) if the pool is too small.
std::vector<std::size_t> select_fewshot(std::size_t pool_size, int k, std::uint64_t seed,
                                        std::size_t doc_index, std::optional<std::size_t> exclude);

// A context and a continuation as token ids: tokens = context + continuation,
// the continuation being the last n_continuation ids.
struct ContinuationTokens {
  std::vector<TokenId> tokens;
  std::size_t n_continuation = 0;
};

class PromptBuilder {
 public:
  // chat: render with tmpl (must be set when chat is true). max_tokens: the
  // model's context length, for left truncation.
  PromptBuilder(const TaskSpec& task, const TaskDocs& docs, const Tokenizer& tokenizer,
                const std::optional<ChatTemplate>& tmpl, bool chat, int num_fewshot,
                std::int64_t max_tokens);

  // The context text for evaluation document i.
  std::string context(std::size_t i) const;
  // Chat mode: the messages context(i) renders (system, few-shot turns, the
  // document's user turn).
  std::vector<ChatMessage> messages(std::size_t i) const;
  // Context ids (with BOS where the tokenizer adds one; left-truncated so
  // that reserve more tokens still fit).
  std::vector<TokenId> context_tokens(std::size_t i, std::int64_t reserve = 0) const;
  // Context + continuation split the way lm-evaluation-harness does it:
  // trailing spaces of the context move to the continuation, the whole text
  // is encoded once and the continuation is what follows the context's ids.
  // The context is cut from the left if the whole does not fit. Throws
  // Error(kInvalidInput) for an empty continuation or one longer than the
  // model's context.
  ContinuationTokens continuation_tokens(const std::string& context,
                                         const std::string& continuation) const;

  // A whole text to score from its first token: BOS (else EOS) then the
  // text's ids, not truncated (perplexity scores long texts in windows).
  std::vector<TokenId> document_tokens(const std::string& text) const;

  // The separator before an answer: target_delimiter, or "" in chat mode
  // (the assistant turn starts the answer).
  const std::string& answer_delimiter() const { return answer_delimiter_; }
  bool chat() const { return chat_; }
  int num_fewshot() const { return num_fewshot_; }
  const Tokenizer& tokenizer() const { return tokenizer_; }

  // Target text of a document for few-shot examples (the gold choice for
  // multiple choice, the first target otherwise).
  std::string example_target(const nlohmann::json& doc, std::string_view what) const;

 private:
  std::vector<std::size_t> shots(std::size_t i) const;  // few-shot pool indices for document i
  std::vector<TokenId> encode_text(const std::string& text) const;
  std::vector<TokenId> truncate_left(std::vector<TokenId> ids, std::int64_t limit) const;

  const TaskSpec& task_;
  const TaskDocs& docs_;
  const Tokenizer& tokenizer_;
  const std::optional<ChatTemplate>& template_;
  bool chat_;
  int num_fewshot_;
  std::int64_t max_tokens_;
  std::string answer_delimiter_;
};

// The index of the gold choice of a multiple-choice document: doc_to_target
// renders to a choice's text, or else to an integer index. Throws
// Error(kInvalidInput) naming the document otherwise.
std::size_t gold_index(const TaskSpec& task, const nlohmann::json& doc,
                       const std::vector<std::string>& choices, std::string_view what);

}  // namespace enclave::eval
