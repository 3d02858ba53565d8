// jinja/parser: the template statements and tags ({% if %}, for, set, macro,
// call, filter, with, ...) and the parse_tokens entry point; expressions are
// in parser_expressions.cpp.
#include "jinja/parser.h"

#include <initializer_list>

#include "core/error.h"
#include "jinja/builtins.h"
#include "jinja/parser_internal.h"

namespace enclave::jinja {
namespace detail {

// Statements until a block tag whose first name is in `ends`; the stream
// is left at that name.
std::vector<NodePtr> Parser::subparse(std::initializer_list<const char*> ends) {
  Nest nest(*this);
  std::vector<NodePtr> body;
  while (true) {
    const Token& t = cur();
    if (t.type == Tok::kEof) {
      if (ends.size() == 0) return body;
      std::string want;
      for (const char* e : ends) want += std::string(want.empty() ? "" : " or ") + "'" + e + "'";
      error(t.line, "unexpected end of template, expected " + want);
    }
    if (t.type == Tok::kData) {
      auto n = node(NodeType::kText, t.line);
      n->name = t.text;
      body.push_back(std::move(n));
      ++pos_;
    } else if (t.type == Tok::kVarBegin) {
      ++pos_;
      auto n = node(NodeType::kOutput, t.line);
      n->a = parse_tuple(true, {}, false);
      if (cur().type != Tok::kVarEnd) {
        error(cur().line, fmt::format("expected end of print statement, got {}", describe(cur())));
      }
      ++pos_;
      body.push_back(std::move(n));
    } else if (t.type == Tok::kBlockBegin) {
      ++pos_;
      if (cur().type == Tok::kName) {
        for (const char* e : ends) {
          if (cur().text == e) return body;
        }
      }
      body.push_back(parse_statement());
    } else {
      error(t.line, "unexpected " + describe(t));
    }
  }
}

NodePtr Parser::parse_statement() {
  const Token& t = cur();
  if (t.type != Tok::kName) error(t.line, "tag name expected");
  const std::string& kw = t.text;
  int line = t.line;
  if (kw == "if") return parse_if();
  if (kw == "for") return parse_for();
  if (kw == "set") return parse_set();
  if (kw == "macro") return parse_macro();
  if (kw == "call") return parse_call_block();
  if (kw == "filter") return parse_filter_block();
  if (kw == "with") return parse_with();
  if (kw == "generation" && extensions_) {
    ++pos_;
    expect_block_end();
    auto n = node(NodeType::kGeneration, line);
    n->body = subparse({"endgeneration"});
    ++pos_;
    expect_block_end();
    return n;
  }
  if ((kw == "break" || kw == "continue") && extensions_) {
    if (loop_depth_ == 0) error(line, "'" + kw + "' outside of a loop");
    ++pos_;
    expect_block_end();
    return node(kw == "break" ? NodeType::kBreak : NodeType::kContinue, line);
  }
  if (kw == "include" || kw == "import" || kw == "from" || kw == "extends" || kw == "block") {
    error(line, "'" + kw + "' is not supported: a template here cannot load other templates");
  }
  error(line, "Encountered unknown tag '" + kw + "'.");
}

NodePtr Parser::parse_if() {
  Nest nest(*this);  // releases the elif links
  auto n = node(NodeType::kIf, take().line);
  n->a = parse_tuple(false, {}, false);
  expect_block_end();
  n->body = subparse({"elif", "else", "endif"});
  Node* tail = n.get();
  while (true) {
    Token tag = take();
    const std::string& kw = tag.text;
    if (kw == "elif") {
      link();
      auto e = node(NodeType::kIf, tag.line);
      e->a = parse_tuple(false, {}, false);
      expect_block_end();
      e->body = subparse({"elif", "else", "endif"});
      Node* next = e.get();
      tail->orelse.push_back(std::move(e));
      tail = next;
    } else if (kw == "else") {
      expect_block_end();
      tail->orelse = subparse({"endif"});
      ++pos_;
      break;
    } else {
      break;
    }
  }
  expect_block_end();
  return n;
}

NodePtr Parser::parse_assign_target(bool with_tuple, bool with_namespace) {
  int line = cur().line;
  NodePtr target;
  if (with_namespace && cur().type == Tok::kName && peek().type == Tok::kOp && peek().text == ".") {
    auto g = node(NodeType::kGetattr, line);
    auto ns = node(NodeType::kName, line);
    ns->name = take().text;
    ++pos_;
    g->a = std::move(ns);
    g->name = expect_name();
    return g;
  }
  if (with_tuple) {
    std::vector<NodePtr> names;
    while (true) {
      auto n = node(NodeType::kName, cur().line);
      n->name = expect_name();
      names.push_back(std::move(n));
      if (!skip_op(",")) break;
      if (cur().type != Tok::kName || is_name("in")) break;
    }
    if (names.size() == 1 && !(t_[pos_ - 1].type == Tok::kOp && t_[pos_ - 1].text == ",")) {
      return std::move(names[0]);
    }
    auto tuple = node(NodeType::kTuple, line);
    tuple->list = std::move(names);
    return tuple;
  }
  auto n = node(NodeType::kName, line);
  n->name = expect_name();
  return n;
}

NodePtr Parser::parse_for() {
  auto n = node(NodeType::kFor, take().line);
  n->a = parse_assign_target(true, false);
  if (!skip_name("in")) error(cur().line, "expected 'in', got " + describe(cur()));
  n->b = parse_tuple(false, {"recursive"}, false);
  if (skip_name("if")) n->c = parse_expression(true);
  if (skip_name("recursive")) n->name = "recursive";
  expect_block_end();
  ++loop_depth_;
  n->body = subparse({"endfor", "else"});
  --loop_depth_;
  if (take().text == "else") {
    expect_block_end();
    n->orelse = subparse({"endfor"});
    ++pos_;
  }
  expect_block_end();
  return n;
}

NodePtr Parser::parse_set() {
  int line = take().line;
  NodePtr target = parse_assign_target(true, true);
  if (skip_op("=")) {
    auto n = node(NodeType::kSet, line);
    n->a = std::move(target);
    n->b = parse_tuple(true, {}, false);
    expect_block_end();
    return n;
  }
  auto n = node(NodeType::kSetBlock, line);
  n->a = std::move(target);
  if (is_op("|")) n->c = parse_filter_chain(nullptr);
  expect_block_end();
  n->body = subparse({"endset"});
  ++pos_;
  expect_block_end();
  return n;
}

void Parser::parse_signature(Node* n) {
  expect_op("(");
  while (!is_op(")")) {
    if (!n->kwargs.empty()) expect_op(",");
    if (is_op(")")) break;
    std::string param = expect_name();
    NodePtr def;
    if (skip_op("=")) def = parse_expression(true);
    n->kwargs.emplace_back(std::move(param), std::move(def));
  }
  expect_op(")");
}

NodePtr Parser::parse_macro() {
  auto n = node(NodeType::kMacro, take().line);
  n->name = expect_name();
  parse_signature(n.get());
  expect_block_end();
  int saved = loop_depth_;
  loop_depth_ = 0;
  n->body = subparse({"endmacro"});
  loop_depth_ = saved;
  ++pos_;
  if (cur().type == Tok::kName) ++pos_;  // {% endmacro name %}
  expect_block_end();
  return n;
}

NodePtr Parser::parse_call_block() {
  auto n = node(NodeType::kCallBlock, take().line);
  if (is_op("(")) {
    parse_signature(n.get());
  }
  n->a = parse_expression(true);
  if (n->a->type != NodeType::kCall) error(n->line, "expected call");
  expect_block_end();
  int saved = loop_depth_;
  loop_depth_ = 0;
  n->body = subparse({"endcall"});
  loop_depth_ = saved;
  ++pos_;
  expect_block_end();
  return n;
}

NodePtr Parser::parse_filter_block() {
  auto n = node(NodeType::kFilterBlock, take().line);
  n->c = parse_filter_chain(nullptr, true);
  expect_block_end();
  n->body = subparse({"endfilter"});
  ++pos_;
  expect_block_end();
  return n;
}

NodePtr Parser::parse_with() {
  auto n = node(NodeType::kWith, take().line);
  while (cur().type != Tok::kBlockEnd) {
    if (!n->kwargs.empty()) expect_op(",");
    std::string target = expect_name();
    expect_op("=");
    n->kwargs.emplace_back(std::move(target), parse_expression(true));
  }
  expect_block_end();
  n->body = subparse({"endwith"});
  ++pos_;
  expect_block_end();
  return n;
}

}  // namespace detail

std::vector<NodePtr> parse_tokens(std::vector<Token> tokens, const std::string& name,
                                  const Options& options) {
  return detail::Parser(std::move(tokens), name, options).parse_all();
}

}  // namespace enclave::jinja
