// PostProcessor: what tokenizer.json's "post_processor" adds around an
// encoded single sequence: TemplateProcessing ("single": special tokens
// around $A, e.g. Llama 2 "<s> $A", Llama 3 "<|begin_of_text|> $A"),
// RobertaProcessing / BertProcessing (cls $A sep), ByteLevel (nothing for
// ids) and Sequence of these.
// Thread safety: plain values.
#pragma once

#include <vector>

#include "text/json_field.h"
#include "text/tokenizer.h"

namespace enclave {

struct PostProcessor {
  std::vector<TokenId> prefix;  // ids before the sequence (BOS)
  std::vector<TokenId> suffix;  // ids after it (EOS)
};

// Parses tokenizer.json's "post_processor" (null: adds nothing). Throws
// Error(kInvalidInput) naming the field when a template is malformed (no
// $A, a special token missing from "special_tokens"), Error(kUnsupported)
// for other processor types.
PostProcessor parse_post_processor(const JsonField& field);

}  // namespace enclave
