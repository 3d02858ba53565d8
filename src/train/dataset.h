// Training data: JSONL records in the TRL conventions turned into token
// sequences with a loss mask.
//   {"text"}                       pretrain: documents packed into fixed-length
//                                  sequences, BOS + text + EOS each
//   {"messages": [{role, content}]} sft: chat template applied, loss only on
//                                  the assistant turns (and their end-of-turn token)
//   {"prompt", "completion"}       sft: loss only on the completion (+ EOS)
//   {"prompt", "chosen", "rejected"} dpo/sdpo preference pairs
// prompt/completion/chosen/rejected may be strings (plain text) or message
// lists (TRL's conversational form, rendered with the chat template).
// Segments (prompt, each assistant turn) are tokenised separately so the
// mask falls exactly on token boundaries, as TRL does.
// Torch-free. Thread safety: stateless functions; a builder is immutable.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace enclave::train {

struct Record {
  nlohmann::json value;  // a JSON object
  std::string where;     // "data.jsonl:12", for errors
};

// Reads a JSONL file: one JSON object per line; blank lines are skipped and a
// trailing '\r' is dropped. Throws Error(kNotFound) for a missing file and
// Error(kInvalidInput) naming the file and line for a byte-order mark,
// invalid JSON or UTF-8, a value that is not an object, a line longer than
// max_line_bytes (without reading it whole) or a file without records.
std::vector<Record> read_jsonl(const std::filesystem::path& path,
                               std::size_t max_line_bytes = 64u << 20);
// The same, one record at a time (memory bounded by the longest line), in
// file order; returns how many records fn was given. What fn throws stops
// the read and is passed on.
std::size_t for_each_jsonl(const std::filesystem::path& path,
                           const std::function<void(Record&&)>& fn,
                           std::size_t max_line_bytes = 64u << 20);

// for_each_jsonl in two halves, so records can be parsed on other threads:
// for_each_jsonl_line hands over the lines that are not blank, unparsed, in
// file order (throwing what for_each_jsonl throws for the file as a whole:
// missing, unreadable, no records), and parse_jsonl_line (const, any thread)
// makes a line's record or throws what for_each_jsonl throws for that line.
struct JsonlLine {
  std::string text;        // without "\n" and a trailing "\r"; empty when too_long
  std::size_t number = 0;  // 1-based
  bool too_long = false;   // longer than max_line_bytes (not held)
};
std::size_t for_each_jsonl_line(const std::filesystem::path& path,
                                const std::function<void(JsonlLine&&)>& fn,
                                std::size_t max_line_bytes = 64u << 20);
Record parse_jsonl_line(const std::filesystem::path& path, const JsonlLine& line,
                        std::size_t max_line_bytes = 64u << 20);

// A token sequence for next-token loss: targets[i] != 0 means ids[i] is
// predicted from ids[0..i) and counts in the loss (targets[0] is always 0).
struct SequenceExample {
  std::vector<TokenId> ids;
  std::vector<std::uint8_t> targets;
  std::int64_t n_targets() const;
};

// A preference pair; the completions do not include the prompt.
struct PreferenceExample {
  std::vector<TokenId> prompt;
  std::vector<TokenId> chosen;
  std::vector<TokenId> rejected;
};

struct BuildStats {
  std::int64_t n_records = 0;
  std::int64_t n_sequences = 0;
  std::int64_t n_tokens = 0;     // tokens in all sequences
  std::int64_t n_truncated = 0;  // records cut at max_length
};

// Packs documents' tokens back to back into sequences of max_length tokens
// (the last one shorter, if it holds at least 2), handing each to emit as it
// fills: pretrain packing a document at a time, in bounded memory.
class SequencePacker {
 public:
  SequencePacker(std::int64_t max_length, std::function<void(SequenceExample&&)> emit);
  void add(const std::vector<TokenId>& ids);
  // Emits what is left.
  void finish();

 private:
  void emit(std::size_t n);
  std::size_t max_length_;
  std::function<void(SequenceExample&&)> emit_;
  std::vector<TokenId> carry_;
  std::size_t start_ = 0;  // carry_[start_..] is not emitted yet
};

class ExampleBuilder {
 public:
  // max_length: the sequence length of pretrain packing and the cut for the
  // other formats (>= 2). The template is needed only for message lists.
  ExampleBuilder(const Tokenizer& tokenizer, std::optional<ChatTemplate> chat_template,
                 std::int64_t max_length);

  // Each record must hold a string "text". Error(kInvalidInput) naming the record otherwise.
  std::vector<SequenceExample> pretrain(const std::vector<Record>& records,
                                        BuildStats* stats = nullptr) const;
  // One pretrain document: BOS (as the tokenizer adds it) + text + EOS.
  std::vector<TokenId> document_ids(const Record& record) const;
  // Records of the {"messages"} or {"prompt","completion"} form (mixed is fine).
  std::vector<SequenceExample> sft(const std::vector<Record>& records,
                                   BuildStats* stats = nullptr) const;
  // One sft record's example, counted in stats; nullopt when cutting it at
  // max_length left no target token.
  std::optional<SequenceExample> sft_example(const Record& record, BuildStats& stats) const;
  std::vector<PreferenceExample> preference(const std::vector<Record>& records,
                                            BuildStats* stats = nullptr) const;
  // One {"prompt","chosen","rejected"} record's pair (cut to max_length:
  // the end of a long prompt, half the budget at most, then the
  // completions), counted in stats (n_sequences counts pairs).
  PreferenceExample preference_example(const Record& record, BuildStats& stats) const;

  // The prompt and completion token ids of one prompt/completion pair (the
  // completion ends with EOS or the end-of-turn token); used by evaluation.
  std::pair<std::vector<TokenId>, std::vector<TokenId>> prompt_completion(
      const nlohmann::json& prompt, const nlohmann::json& completion,
      const std::string& where) const;
  // The prompt alone, ready for generation (conversational prompts end with
  // the assistant header).
  std::vector<TokenId> prompt_ids(const nlohmann::json& prompt, const std::string& where) const;

 private:
  SequenceExample messages_example(const nlohmann::json& messages, const std::string& where) const;
  std::vector<TokenId> encode_segment(const std::string& text) const;
  const ChatTemplate& require_template(const std::string& where) const;

  const Tokenizer& tokenizer_;
  std::optional<ChatTemplate> chat_template_;
  std::int64_t max_length_;
};

// Checks [{"role", "content"}, ...] (content a string or a list of parts, or
// null beside tool_calls) and returns it as the template will see it.
// Error(kInvalidInput) naming `where`.
nlohmann::ordered_json parse_messages(const nlohmann::json& value, const std::string& where);

}  // namespace enclave::train
