// jinja/parser: turns tokens into the statement tree, with jinja2's grammar
// and operator precedence (jinja2.parser). Filters and tests are resolved
// here, so an unknown name is a syntax error as in jinja2.
// Thread safety: stateless function.
#pragma once

#include <string>
#include <vector>

#include "jinja/ast.h"
#include "jinja/lexer.h"

namespace enclave::jinja {

// The template's top-level statements. `break`/`continue` and
// `{% generation %}` are tags only with options.transformers_globals (the
// extensions transformers loads). Throws Error(kInvalidInput) "NAME:LINE: reason".
std::vector<NodePtr> parse_tokens(std::vector<Token> tokens, const std::string& name,
                                  const Options& options);

}  // namespace enclave::jinja
