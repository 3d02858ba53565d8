// jinja/lexer: splits template source into text and the tokens inside
// `{{ }}`, `{% %}` and `{# #}`, applying jinja2's whitespace rules exactly
// (newline normalisation, the dropped trailing newline, `-`/`+` markers,
// trim_blocks, lstrip_blocks, raw blocks).
// Thread safety: stateless functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jinja/jinja.h"

namespace enclave::jinja {

enum class Tok : std::uint8_t {
  kData,
  kBlockBegin,
  kBlockEnd,
  kVarBegin,
  kVarEnd,
  kName,
  kString,
  kInt,
  kFloat,
  kOp,
  kEof,
};

struct Token {
  Tok type;
  int line;
  std::string text;  // data text, name, operator, decoded string literal
  std::int64_t i = 0;
  double f = 0;
};

// Tokenizes `source`. Throws Error(kInvalidInput) "NAME:LINE: reason" for an
// unterminated tag, comment or string, or a character no token starts with.
std::vector<Token> tokenize(std::string_view source, const std::string& name,
                            const Options& options);

}  // namespace enclave::jinja
