// jinja/parser_internal: the recursive-descent Parser class shared by
// parser.cpp (template statements and tags) and parser_expressions.cpp
// (expressions, filters and tests). Internal to src/jinja.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "core/error.h"
#include "jinja/ast.h"
#include "jinja/lexer.h"

namespace enclave::jinja::detail {

class Parser {
 public:
  Parser(std::vector<Token> tokens, const std::string& name, const Options& options)
      : t_(std::move(tokens)),
        name_(name),
        extensions_(options.transformers_globals),
        lm_eval_filters_(options.lm_eval_filters) {}

  std::vector<NodePtr> parse_all() {
    auto body = subparse({});
    if (cur().type != Tok::kEof) error(cur().line, "unexpected tag");
    return body;
  }

 private:
  const Token& cur() const { return t_[pos_]; }
  const Token& peek(std::size_t n = 1) const { return t_[std::min(pos_ + n, t_.size() - 1)]; }
  Token take() { return t_[pos_ < t_.size() - 1 ? pos_++ : pos_]; }
  bool is_op(const char* op) const { return cur().type == Tok::kOp && cur().text == op; }
  bool is_name(const char* n) const { return cur().type == Tok::kName && cur().text == n; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    ++pos_;
    return true;
  }
  bool skip_name(const char* n) {
    if (!is_name(n)) return false;
    ++pos_;
    return true;
  }

  [[noreturn]] void error(int line, const std::string& reason) const {
    fail_input("{}:{}: {}", name_, line, reason);
  }

  // Bounds the recursion of this recursive-descent parser and the depth of
  // the tree it builds (which the renderer and the destructors recurse
  // over), so a hostile template fails instead of exhausting the stack.
  // A Nest is one level of recursion; link() is one more node wrapped
  // around a left operand by a loop (a + b + c, a.b.c, x|f|g, elif), which
  // deepens the tree without recursing; its count is released when the
  // enclosing Nest ends.
  static constexpr int kMaxNesting = 200;
  struct Nest {
    explicit Nest(Parser& p) : p_(p), saved_(p.nesting_) { p_.deeper(); }
    ~Nest() { p_.nesting_ = saved_; }
    Parser& p_;
    int saved_;
  };
  void deeper() {
    if (++nesting_ > kMaxNesting) {
      error(cur().line, fmt::format("nested more than {} levels deep", kMaxNesting));
    }
  }
  void link() { deeper(); }

  std::string describe(const Token& t) const {
    switch (t.type) {
      case Tok::kEof:
        return "end of template";
      case Tok::kBlockEnd:
        return "end of statement block";
      case Tok::kVarEnd:
        return "end of print statement";
      case Tok::kBlockBegin:
        return "begin of statement block";
      case Tok::kVarBegin:
        return "begin of print statement";
      case Tok::kData:
        return "template data";
      default:
        return "'" + t.text + "'";
    }
  }

  void expect_op(const char* op) {
    if (!skip_op(op)) error(cur().line, fmt::format("expected '{}', got {}", op, describe(cur())));
  }
  std::string expect_name() {
    if (cur().type != Tok::kName) {
      error(cur().line, fmt::format("expected a name, got {}", describe(cur())));
    }
    return take().text;
  }
  void expect_block_end() {
    if (cur().type != Tok::kBlockEnd) {
      error(cur().line, fmt::format("expected end of statement block, got {}", describe(cur())));
    }
    ++pos_;
  }

  NodePtr node(NodeType type, int line) {
    auto n = std::make_unique<Node>();
    n->type = type;
    n->line = line;
    return n;
  }

  // --- statements (parser.cpp) ---

  std::vector<NodePtr> subparse(std::initializer_list<const char*> ends);
  NodePtr parse_statement();
  NodePtr parse_if();
  NodePtr parse_assign_target(bool with_tuple, bool with_namespace);
  NodePtr parse_for();
  NodePtr parse_set();
  void parse_signature(Node* n);
  NodePtr parse_macro();
  NodePtr parse_call_block();
  NodePtr parse_filter_block();
  NodePtr parse_with();

  // --- expressions (parser_expressions.cpp) ---

  bool is_tuple_end(std::initializer_list<const char*> extra_ends) const;
  NodePtr parse_tuple(bool with_condexpr, std::initializer_list<const char*> extra_ends,
                      bool explicit_parens);
  NodePtr parse_expression(bool with_condexpr);
  NodePtr parse_condexpr();
  NodePtr parse_or();
  NodePtr parse_and();
  NodePtr parse_not();
  NodePtr parse_compare();
  NodePtr binary(const std::string& op, int line, NodePtr a, NodePtr b);
  NodePtr parse_math1();
  NodePtr parse_concat();
  NodePtr parse_math2();
  NodePtr parse_pow();
  NodePtr parse_unary(bool with_filter);
  NodePtr parse_primary();
  NodePtr parse_postfix(NodePtr n);
  NodePtr parse_subscribed();
  void parse_call_args(Node* n);
  NodePtr parse_call(NodePtr callee);
  NodePtr parse_filter_chain(NodePtr subject, bool start_inline = false);
  NodePtr parse_filter_expr(NodePtr n);
  NodePtr parse_test(NodePtr subject);

  std::vector<Token> t_;
  const std::string& name_;
  std::size_t pos_ = 0;
  int loop_depth_ = 0;
  int nesting_ = 0;
  bool extensions_;
  bool lm_eval_filters_;
};

}  // namespace enclave::jinja::detail
