// Pattern: the {"String": "..."} or {"Regex": "..."} object of tokenizer.json
// that Split pre-tokenizers and Replace normalizers and decoders carry. Hugging
// Face compiles both kinds with Oniguruma (a String as its escaped text); a
// String is searched here as plain text, which finds the same matches, and a
// Regex runs on Oniguruma (regex.h), or on the equivalent hand-written
// matcher when it is the GPT-2, Llama 3 or Qwen2 pattern (split_patterns.h).
// Thread safety: immutable after construction; copies share the compiled
// regex; all methods are const and safe from many threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text/json_field.h"
#include "text/regex.h"
#include "text/split_patterns.h"

namespace enclave {

class Pattern {
 public:
  // Matches nothing; for default-constructed steps that carry no pattern.
  Pattern() = default;

  // Throws Error(kInvalidInput) naming the field for a malformed object, an
  // empty String, or a Regex that does not compile (with Oniguruma's message).
  static Pattern from_json(const JsonField& pattern);

  // A String pattern (non-empty).
  static Pattern literal(std::string text);

  // The matches in text (valid UTF-8), in order, as Regex::find_all gives
  // them; a String's matches are its non-overlapping occurrences. Throws
  // Error(kInvalidInput) naming the field when a Regex gives up.
  std::vector<ByteRange> find_all(std::string_view text) const;

  // text with every match replaced by content, as HF's Replace normalizer
  // and decoder do; empty text stays empty.
  std::string replace(std::string_view text, std::string_view content) const;

 private:
  std::string literal_;
  std::shared_ptr<const Regex> regex_;
  std::optional<SplitPattern> fast_;  // set when regex_ is a known pattern
};

}  // namespace enclave
