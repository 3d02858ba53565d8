// Precedence, loosest first, as jinja2.parser has it: conditional
// expression, or, and, not, comparisons (chained), + -, ~, * / // %, **,
// unary - +, then postfix (.attr [item] (call)) and the filter chain
// (|filter, is test) which binds to the unary operand: `-x|abs` is
// abs(-x). Tuples appear only where jinja2 parses them (output, set values,
// for targets and iterables, parentheses).
#include "jinja/parser.h"

#include <initializer_list>

#include "core/error.h"
#include "jinja/builtins.h"

namespace enclave::jinja {
namespace {

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

  // Bounds the recursion of this recursive-descent parser (and of the
  // renderer over its tree), so a hostile template fails instead of
  // exhausting the stack.
  static constexpr int kMaxNesting = 200;
  struct Nest {
    explicit Nest(Parser& p) : p_(p) {
      if (++p_.nesting_ > kMaxNesting) {
        p_.error(p_.cur().line, fmt::format("nested more than {} levels deep", kMaxNesting));
      }
    }
    ~Nest() { --p_.nesting_; }
    Parser& p_;
  };

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

  // Statements until a block tag whose first name is in `ends`; the stream
  // is left at that name.
  std::vector<NodePtr> subparse(std::initializer_list<const char*> ends) {
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
          error(cur().line,
                fmt::format("expected end of print statement, got {}", describe(cur())));
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

  NodePtr parse_statement() {
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

  NodePtr parse_if() {
    auto n = node(NodeType::kIf, take().line);
    n->a = parse_tuple(false, {}, false);
    expect_block_end();
    n->body = subparse({"elif", "else", "endif"});
    Node* tail = n.get();
    while (true) {
      Token tag = take();
      const std::string& kw = tag.text;
      if (kw == "elif") {
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

  NodePtr parse_assign_target(bool with_tuple, bool with_namespace) {
    int line = cur().line;
    NodePtr target;
    if (with_namespace && cur().type == Tok::kName && peek().type == Tok::kOp &&
        peek().text == ".") {
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

  NodePtr parse_for() {
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

  NodePtr parse_set() {
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

  void parse_signature(Node* n) {
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

  NodePtr parse_macro() {
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

  NodePtr parse_call_block() {
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

  NodePtr parse_filter_block() {
    auto n = node(NodeType::kFilterBlock, take().line);
    n->c = parse_filter_chain(nullptr, true);
    expect_block_end();
    n->body = subparse({"endfilter"});
    ++pos_;
    expect_block_end();
    return n;
  }

  NodePtr parse_with() {
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

  // --- expressions ---

  bool is_tuple_end(std::initializer_list<const char*> extra_ends) const {
    const Token& t = cur();
    if (t.type == Tok::kVarEnd || t.type == Tok::kBlockEnd || t.type == Tok::kEof) return true;
    if (t.type == Tok::kOp && t.text == ")") return true;
    if (t.type == Tok::kName) {
      for (const char* e : extra_ends) {
        if (t.text == e) return true;
      }
    }
    return false;
  }

  NodePtr parse_tuple(bool with_condexpr, std::initializer_list<const char*> extra_ends,
                      bool explicit_parens) {
    int line = cur().line;
    std::vector<NodePtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) expect_op(",");
      if (is_tuple_end(extra_ends)) break;
      items.push_back(with_condexpr ? parse_expression(true) : parse_or());
      if (is_op(",")) {
        is_tuple = true;
      } else {
        break;
      }
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parens) {
        error(cur().line, "Expected an expression, got " + describe(cur()));
      }
    }
    auto n = node(NodeType::kTuple, line);
    n->list = std::move(items);
    return n;
  }

  NodePtr parse_expression(bool with_condexpr) {
    return with_condexpr ? parse_condexpr() : parse_or();
  }

  NodePtr parse_condexpr() {
    int line = cur().line;
    NodePtr expr1 = parse_or();
    while (skip_name("if")) {
      auto n = node(NodeType::kCondExpr, line);
      n->a = parse_or();
      n->b = std::move(expr1);
      if (skip_name("else")) n->c = parse_condexpr();
      expr1 = std::move(n);
    }
    return expr1;
  }

  NodePtr parse_or() {
    NodePtr left = parse_and();
    while (is_name("or")) {
      auto n = node(NodeType::kOr, take().line);
      n->a = std::move(left);
      n->b = parse_and();
      left = std::move(n);
    }
    return left;
  }

  NodePtr parse_and() {
    NodePtr left = parse_not();
    while (is_name("and")) {
      auto n = node(NodeType::kAnd, take().line);
      n->a = std::move(left);
      n->b = parse_not();
      left = std::move(n);
    }
    return left;
  }

  NodePtr parse_not() {
    if (is_name("not")) {
      auto n = node(NodeType::kNot, take().line);
      n->a = parse_not();
      return n;
    }
    return parse_compare();
  }

  NodePtr parse_compare() {
    int line = cur().line;
    NodePtr expr = parse_math1();
    NodePtr cmp;
    while (true) {
      std::string op;
      if (cur().type == Tok::kOp &&
          (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == "<=" ||
           cur().text == ">" || cur().text == ">=")) {
        op = take().text;
      } else if (skip_name("in")) {
        op = "in";
      } else if (is_name("not") && peek().type == Tok::kName && peek().text == "in") {
        pos_ += 2;
        op = "notin";
      } else {
        break;
      }
      if (!cmp) {
        cmp = node(NodeType::kCompare, line);
        cmp->a = std::move(expr);
      }
      cmp->ops.push_back(op);
      cmp->list.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(expr);
  }

  NodePtr binary(const std::string& op, int line, NodePtr a, NodePtr b) {
    auto n = node(NodeType::kBinary, line);
    n->name = op;
    n->a = std::move(a);
    n->b = std::move(b);
    return n;
  }

  NodePtr parse_math1() {
    NodePtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      Token op = take();
      left = binary(op.text, op.line, std::move(left), parse_concat());
    }
    return left;
  }

  NodePtr parse_concat() {
    NodePtr left = parse_math2();
    while (is_op("~")) {
      Token op = take();
      left = binary("~", op.line, std::move(left), parse_math2());
    }
    return left;
  }

  NodePtr parse_math2() {
    NodePtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      Token op = take();
      left = binary(op.text, op.line, std::move(left), parse_pow());
    }
    return left;
  }

  NodePtr parse_pow() {
    NodePtr left = parse_unary(true);
    while (is_op("**")) {
      Token op = take();
      left = binary("**", op.line, std::move(left), parse_unary(true));
    }
    return left;
  }

  NodePtr parse_unary(bool with_filter) {
    Nest nest(*this);
    NodePtr n;
    if (is_op("-") || is_op("+")) {
      Token op = take();
      n = node(op.text == "-" ? NodeType::kNeg : NodeType::kPos, op.line);
      n->a = parse_unary(false);
    } else {
      n = parse_primary();
    }
    n = parse_postfix(std::move(n));
    if (with_filter) n = parse_filter_expr(std::move(n));
    return n;
  }

  NodePtr parse_primary() {
    const Token& t = cur();
    int line = t.line;
    if (t.type == Tok::kName) {
      std::string n = take().text;
      auto c = node(NodeType::kConst, line);
      if (n == "true" || n == "True") {
        c->value = Value::boolean(true);
      } else if (n == "false" || n == "False") {
        c->value = Value::boolean(false);
      } else if (n == "none" || n == "None") {
        c->value = Value::none();
      } else {
        auto v = node(NodeType::kName, line);
        v->name = n;
        return v;
      }
      return c;
    }
    if (t.type == Tok::kString) {
      std::string s;
      while (cur().type == Tok::kString) s += take().text;
      auto c = node(NodeType::kConst, line);
      c->value = Value::string(std::move(s));
      return c;
    }
    if (t.type == Tok::kInt || t.type == Tok::kFloat) {
      auto c = node(NodeType::kConst, line);
      c->value = t.type == Tok::kInt ? Value::integer(t.i) : Value::floating(t.f);
      ++pos_;
      return c;
    }
    if (is_op("(")) {
      ++pos_;
      NodePtr n = parse_tuple(true, {}, true);
      expect_op(")");
      return n;
    }
    if (is_op("[")) {
      ++pos_;
      auto n = node(NodeType::kList, line);
      while (!is_op("]")) {
        if (!n->list.empty()) expect_op(",");
        if (is_op("]")) break;
        n->list.push_back(parse_expression(true));
      }
      expect_op("]");
      return n;
    }
    if (is_op("{")) {
      ++pos_;
      auto n = node(NodeType::kDict, line);
      while (!is_op("}")) {
        if (!n->list.empty()) expect_op(",");
        if (is_op("}")) break;
        n->list.push_back(parse_expression(true));
        expect_op(":");
        n->list.push_back(parse_expression(true));
      }
      expect_op("}");
      return n;
    }
    error(line, "unexpected " + describe(t));
  }

  NodePtr parse_postfix(NodePtr n) {
    while (true) {
      if (is_op(".")) {
        int line = take().line;
        if (cur().type == Tok::kName) {
          auto g = node(NodeType::kGetattr, line);
          g->a = std::move(n);
          g->name = take().text;
          n = std::move(g);
        } else if (cur().type == Tok::kInt) {
          auto g = node(NodeType::kGetitem, line);
          g->a = std::move(n);
          g->b = node(NodeType::kConst, line);
          g->b->value = Value::integer(take().i);
          n = std::move(g);
        } else {
          error(line, "expected name or number");
        }
      } else if (is_op("[")) {
        int line = take().line;
        std::vector<NodePtr> args;
        while (!is_op("]")) {
          if (!args.empty()) expect_op(",");
          args.push_back(parse_subscribed());
        }
        expect_op("]");
        auto g = node(NodeType::kGetitem, line);
        g->a = std::move(n);
        if (args.size() == 1) {
          g->b = std::move(args[0]);
        } else {
          g->b = node(NodeType::kTuple, line);
          g->b->list = std::move(args);
        }
        n = std::move(g);
      } else if (is_op("(")) {
        n = parse_call(std::move(n));
      } else {
        return n;
      }
    }
  }

  NodePtr parse_subscribed() {
    int line = cur().line;
    NodePtr start;
    if (!is_op(":")) {
      start = parse_expression(true);
      if (!is_op(":")) return start;
    }
    ++pos_;
    auto s = node(NodeType::kSlice, line);
    s->a = std::move(start);
    if (!is_op(":") && !is_op("]") && !is_op(",")) s->b = parse_expression(true);
    if (skip_op(":")) {
      if (!is_op("]") && !is_op(",")) s->c = parse_expression(true);
    }
    return s;
  }

  // (args, key=value, *dyn_args, **dyn_kwargs) in jinja2's order rules;
  // the dynamic ones go to n->b and n->c.
  void parse_call_args(Node* n) {
    expect_op("(");
    bool first = true;
    auto ensure = [&](bool ok) {
      if (!ok) error(cur().line, "invalid syntax for function call expression");
    };
    while (!is_op(")")) {
      if (!first) {
        expect_op(",");
        if (is_op(")")) break;
      }
      first = false;
      if (skip_op("*")) {
        ensure(!n->b && !n->c);
        n->b = parse_expression(true);
      } else if (skip_op("**")) {
        ensure(!n->c);
        n->c = parse_expression(true);
      } else if (cur().type == Tok::kName && peek().type == Tok::kOp && peek().text == "=") {
        ensure(!n->c);
        std::string key = take().text;
        ++pos_;
        n->kwargs.emplace_back(std::move(key), parse_expression(true));
      } else {
        ensure(!n->b && !n->c && n->kwargs.empty());
        n->list.push_back(parse_expression(true));
      }
    }
    expect_op(")");
  }

  NodePtr parse_call(NodePtr callee) {
    auto n = node(NodeType::kCall, cur().line);
    n->a = std::move(callee);
    parse_call_args(n.get());
    return n;
  }

  NodePtr parse_filter_chain(NodePtr subject, bool start_inline = false) {
    bool first = true;
    while (is_op("|") || (start_inline && first)) {
      if (!(start_inline && first)) ++pos_;
      first = false;
      int line = cur().line;
      std::string fname = expect_name();
      while (is_op(".")) {
        ++pos_;
        fname += "." + expect_name();
      }
      auto f = node(NodeType::kFilter, line);
      f->name = fname;
      f->filter = find_filter(fname);
      if (fname == "regex_replace" && !lm_eval_filters_) f->filter = nullptr;
      if (!f->filter) error(line, "No filter named '" + fname + "'.");
      f->a = std::move(subject);
      if (is_op("(")) parse_call_args(f.get());
      subject = std::move(f);
    }
    return subject;
  }

  NodePtr parse_filter_expr(NodePtr n) {
    while (true) {
      if (is_op("|")) {
        n = parse_filter_chain(std::move(n));
      } else if (is_name("is")) {
        n = parse_test(std::move(n));
      } else if (is_op("(")) {
        n = parse_call(std::move(n));
      } else {
        return n;
      }
    }
  }

  NodePtr parse_test(NodePtr subject) {
    int line = take().line;
    bool negated = skip_name("not");
    std::string tname;
    if (cur().type != Tok::kName) {
      error(cur().line, "expected a test name, got " + describe(cur()));
    }
    tname = take().text;
    while (is_op(".")) {
      ++pos_;
      tname += "." + expect_name();
    }
    auto t = node(NodeType::kTest, line);
    t->name = tname;
    t->test = find_test(tname);
    if (!t->test) error(line, "No test named '" + tname + "'.");
    t->a = std::move(subject);
    if (is_op("(")) {
      parse_call_args(t.get());
    } else if ((cur().type == Tok::kName || cur().type == Tok::kString || cur().type == Tok::kInt ||
                cur().type == Tok::kFloat || is_op("(") || is_op("[") || is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) error(cur().line, "You cannot chain multiple tests with is");
      t->list.push_back(parse_postfix(parse_primary()));
    }
    if (!negated) return t;
    auto n = node(NodeType::kNot, line);
    n->a = std::move(t);
    return n;
  }

  std::vector<Token> t_;
  const std::string& name_;
  std::size_t pos_ = 0;
  int loop_depth_ = 0;
  int nesting_ = 0;
  bool extensions_;
  bool lm_eval_filters_;
};

}  // namespace

std::vector<NodePtr> parse_tokens(std::vector<Token> tokens, const std::string& name,
                                  const Options& options) {
  return Parser(std::move(tokens), name, options).parse_all();
}

}  // namespace enclave::jinja
