// Decoder: turns the vocabulary strings of a token sequence back into text,
// as tokenizer.json's "decoder" asks. Supports Sequence, ByteLevel (GPT-2
// alphabet -> bytes, invalid UTF-8 -> U+FFFD as String::from_utf8_lossy),
// Replace (String or Regex pattern), ByteFallback ("<0x0A>" pieces -> bytes; a run of
// byte pieces that is not valid UTF-8 gives one U+FFFD per byte, as HF),
// Fuse, Strip (content, start, stop) and Metaspace.
// Thread safety: immutable after construction; decode() is const and safe
// from many threads.
#pragma once

#include <string>
#include <vector>

#include "text/json_field.h"
#include "text/pattern.h"

namespace enclave {

class Decoder {
 public:
  // No decoder (tokenizer.json "decoder": null): pieces are joined with " ",
  // as HF does.
  Decoder() = default;

  // Parses tokenizer.json's "decoder". Throws Error(kInvalidInput) naming the
  // field when malformed, Error(kUnsupported) naming the type otherwise.
  static Decoder from_json(const JsonField& field);

  // The text of the pieces; may contain invalid UTF-8 only if a piece does
  // (the tokenizer repairs the result).
  std::string decode(std::vector<std::string> pieces) const;

  bool is_byte_level() const;

 private:
  enum class Kind { kByteLevel, kReplace, kByteFallback, kFuse, kStrip, kMetaspace };
  struct Step {
    Kind kind;
    std::string a;  // Replace: content; Strip: content; Metaspace: replacement
    std::size_t start = 0;
    std::size_t stop = 0;  // Strip
    bool prepend = false;  // Metaspace: prepend_scheme is not "never"
    Pattern pattern;       // Replace
  };
  static void parse_into(const JsonField& field, std::vector<Step>& steps);
  static void apply(const Step& step, std::vector<std::string>& pieces);

  bool present_ = false;
  std::vector<Step> steps_;
};

}  // namespace enclave
