// AddedVocabulary: tokenizer.json's "added_tokens" (special tokens such as
// "<|begin_of_text|>" and user-added pieces). Input text is split on their
// contents before the normalizer and the model run, as Hugging Face
// `tokenizers` does: leftmost-longest match, with the lstrip / rstrip /
// single_word rules. Special tokens are matched only when asked to.
// All contents are matched on the raw text, including tokens marked
// "normalized": true; the model families we support mark their added
// tokens normalized: false, or have no normalizer that changes them.
// Thread safety: immutable after construction; safe from many threads.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text/bpe.h"
#include "text/json_field.h"
#include "text/tokenizer.h"

namespace enclave {

struct AddedToken {
  TokenId id = 0;
  std::string content;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

class AddedVocabulary {
 public:
  AddedVocabulary() = default;

  // Parses the "added_tokens" list (null or missing: none). Throws
  // Error(kInvalidInput) naming the element for a missing or empty content,
  // a bad id, or two entries with the same id or content.
  static AddedVocabulary from_json(const JsonField& list);

  // A piece of the input: either plain text for the model, or one added token.
  struct Segment {
    std::string_view text;  // a view into the input
    std::size_t offset;     // byte offset of text in the input
    std::optional<TokenId> id;
  };
  // Splits text (valid UTF-8) on added-token contents; special tokens are
  // only recognised when parse_special. Empty text segments are omitted.
  std::vector<Segment> split(std::string_view text, bool parse_special) const;

  const AddedToken* find(TokenId id) const;
  const AddedToken* find(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  std::vector<AddedToken> tokens_;
  PieceMap by_content_;  // content -> index in tokens_
  std::unordered_map<TokenId, std::size_t> by_id_;
  std::array<std::vector<std::size_t>, 256> by_first_byte_;  // longest first
};

}  // namespace enclave
