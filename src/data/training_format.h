// Training formats: dataset records as the JSONL conventions of Hugging Face
// TRL that the trainers read, each record validated on the way:
//   text                    {"text": "..."}
//   messages                {"messages": [{"role": "user", "content": "..."}, ...]}
//   prompt/completion       {"prompt": "...", "completion": "..."}
//   prompt/chosen/rejected  {"prompt": "...", "chosen": "...", "rejected": "..."}
// Sources: the record's own fields of those names (kept in Document::extra)
// or, where the format allows, its text (text format) or prompt/completion
// pairs (messages). Conversations must use the roles system, user, assistant
// and tool, start (after an optional system turn) with the user, not repeat
// a speaker, have no empty turn and end with the assistant. A prompt may be
// such a list of turns (not required to end with the assistant); then the
// completion, chosen and rejected answers are lists that start with the
// assistant and hold no system turn (TRL's conversational form). With a
// tokenizer, the record's length in tokens must lie in [min_tokens, max_tokens];
// with the model's chat template too, a conversation counts as rendered.
// Thread safety: format_record is safe from many threads (the tokenizer's
// encode is const).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "data/document.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace enclave::data {

enum class TrainingFormat { kText, kMessages, kPromptCompletion, kPreference };
// "text", "messages", "prompt/completion" (or "prompt-completion"),
// "prompt/chosen/rejected" (or "preference"). Throws Error(kInvalidInput).
TrainingFormat parse_training_format(std::string_view name);
std::string_view to_string(TrainingFormat format);

struct FormatOptions {
  TrainingFormat to = TrainingFormat::kText;
  const Tokenizer* tokenizer = nullptr;  // null: no token-length checks
  // The model's chat template: conversations are measured as rendered by it
  // (and a conversation it refuses is invalid). Null: their contents.
  const ChatTemplate* chat_template = nullptr;
  std::int64_t max_tokens = 0;  // 0: no upper limit
  std::int64_t min_tokens = 0;
};

struct FormattedRecord {
  std::string line;          // the JSONL record when valid
  std::string error;         // why the record is invalid ("turn 2: empty content")
  std::int64_t tokens = -1;  // -1 without a tokenizer
  std::int64_t chars = 0;    // characters of the text fields
};

FormattedRecord format_record(const Document& doc, const FormatOptions& options);

}  // namespace enclave::data
