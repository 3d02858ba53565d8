// PreTokenizer: splits normalized text into the words BPE runs on, as
// tokenizer.json's "pre_tokenizer" asks. Supports Sequence, Split (String
// pattern, or the GPT-2 / Llama 3 / Qwen2 regexes of split_patterns.h; all
// five split behaviours and invert), ByteLevel (add_prefix_space, use_regex;
// maps bytes to GPT-2's alphabet), Metaspace (replacement, prepend_scheme
// always/first/never or the older add_prefix_space, split) and Digits.
// Thread safety: immutable after construction; pre_tokenize() is const and
// safe from many threads.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "text/json_field.h"
#include "text/pattern.h"

namespace enclave {

// How matches of a split pattern become pieces (HF SplitDelimiterBehavior).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// The pieces of a text of `size` bytes split at `matches` (sorted,
// non-overlapping byte ranges, possibly empty) the way HF's
// NormalizedString::split does; empty pieces are dropped.
std::vector<ByteRange> split_by_matches(std::size_t size, const std::vector<ByteRange>& matches,
                                        SplitBehavior behavior, bool invert);

class PreTokenizer {
 public:
  // No splitting (tokenizer.json "pre_tokenizer": null): the text is one word.
  PreTokenizer() = default;

  // Parses tokenizer.json's "pre_tokenizer". Throws Error(kInvalidInput)
  // naming the field when malformed or when a Regex pattern does not compile
  // (with Oniguruma's message), Error(kUnsupported) naming the type for ones
  // we do not implement.
  static PreTokenizer from_json(const JsonField& field);

  // Splits text (valid UTF-8). at_text_start: the text begins at offset 0
  // of the caller's input (Metaspace prepend_scheme "first" only prepends
  // there). Throws Error(kInvalidInput) naming the pattern's field when a
  // Regex gives up (regex.h: retry limits).
  std::vector<std::string> pre_tokenize(std::string_view text, bool at_text_start) const;

  // True if a ByteLevel step maps text to GPT-2's byte alphabet.
  bool is_byte_level() const;

 private:
  enum class Kind { kSplit, kByteLevel, kMetaspace, kDigits };
  enum class Prepend { kAlways, kFirst, kNever };
  struct Step {
    Kind kind;
    Pattern pattern;      // Split; Metaspace: its replacement
    std::string literal;  // Metaspace: replacement
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;
    bool flag = false;  // ByteLevel: add_prefix_space; Metaspace: split; Digits: individual
    bool use_regex = false;
    Prepend prepend = Prepend::kAlways;
  };
  struct Piece {
    std::string text;
    bool at_start;
  };
  static void parse_into(const JsonField& field, std::vector<Step>& steps);
  static void apply(const Step& step, std::vector<Piece>& pieces);

  std::vector<Step> steps_;
};

}  // namespace enclave
