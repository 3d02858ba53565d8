// Normalizer: the text rewrite Hugging Face `tokenizers` applies to each
// piece of input between added tokens, before pre-tokenization. Supports the
// normalizers Llama 2 / Mistral (Prepend "▁" + Replace " " -> "▁"), Qwen2
// (NFC) and others use: Sequence, Prepend, Replace (String or Regex), NFC,
// NFD, NFKC, NFKD (ICU Normalizer2), Lowercase (ICU root locale, as Rust's
// str::to_lowercase), Strip.
// Thread safety: immutable after construction; normalize() is const and
// safe from many threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "text/json_field.h"
#include "text/pattern.h"

namespace enclave {

class Normalizer {
 public:
  // The identity (tokenizer.json "normalizer": null).
  Normalizer() = default;

  // Parses tokenizer.json's "normalizer" value. Throws Error(kInvalidInput)
  // naming the field for malformed values and Error(kUnsupported) for
  // normalizer types we do not implement.
  static Normalizer from_json(const JsonField& field);

  // text must be valid UTF-8; so is the result.
  std::string normalize(std::string_view text) const;

  bool is_identity() const { return steps_.empty(); }

 private:
  enum class Kind { kPrepend, kReplace, kNfc, kNfd, kNfkc, kNfkd, kLowercase, kStrip };
  struct Step {
    Kind kind;
    std::string a;  // Prepend: text; Replace: content
    bool left = false;
    bool right = false;  // Strip
    Pattern pattern;     // Replace
  };
  static void parse_into(const JsonField& field, std::vector<Step>& steps);

  std::vector<Step> steps_;
};

// Replaces every non-overlapping occurrence of `from` (non-empty) with `to`.
std::string replace_all(std::string_view text, std::string_view from, std::string_view to);

}  // namespace enclave
