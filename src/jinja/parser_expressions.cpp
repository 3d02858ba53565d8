// jinja/parser_expressions: the expression half of the Parser.
// Precedence, loosest first, as jinja2.parser has it: conditional
// expression, or, and, not, comparisons (chained), + -, ~, * / // %, **,
// unary - +, then postfix (.attr [item] (call)) and the filter chain
// (|filter, is test) which binds to the unary operand: `-x|abs` is
// abs(-x). Tuples appear only where jinja2 parses them (output, set values,
// for targets and iterables, parentheses).
#include <initializer_list>

#include "core/error.h"
#include "jinja/builtins.h"
#include "jinja/parser_internal.h"

namespace enclave::jinja::detail {

bool Parser::is_tuple_end(std::initializer_list<const char*> extra_ends) const {
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

NodePtr Parser::parse_tuple(bool with_condexpr, std::initializer_list<const char*> extra_ends,
                            bool explicit_parens) {
  int line = cur().line;
  std::vector<NodePtr> items;
  bool is_tuple = false;
  while (true) {
    if (!items.empty()) expect_op(",");
    if (is_tuple_end(extra_ends)) break;
    items.push_back(parse_expression(with_condexpr));
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

NodePtr Parser::parse_expression(bool with_condexpr) {
  // Links of one expression's loops are released when it is parsed.
  Nest nest(*this);
  return with_condexpr ? parse_condexpr() : parse_or();
}

NodePtr Parser::parse_condexpr() {
  int line = cur().line;
  NodePtr expr1 = parse_or();
  while (skip_name("if")) {
    link();
    auto n = node(NodeType::kCondExpr, line);
    n->a = parse_or();
    n->b = std::move(expr1);
    if (skip_name("else")) n->c = parse_condexpr();
    expr1 = std::move(n);
  }
  return expr1;
}

NodePtr Parser::parse_or() {
  NodePtr left = parse_and();
  while (is_name("or")) {
    link();
    auto n = node(NodeType::kOr, take().line);
    n->a = std::move(left);
    n->b = parse_and();
    left = std::move(n);
  }
  return left;
}

NodePtr Parser::parse_and() {
  NodePtr left = parse_not();
  while (is_name("and")) {
    link();
    auto n = node(NodeType::kAnd, take().line);
    n->a = std::move(left);
    n->b = parse_not();
    left = std::move(n);
  }
  return left;
}

NodePtr Parser::parse_not() {
  if (is_name("not")) {
    link();
    auto n = node(NodeType::kNot, take().line);
    n->a = parse_not();
    return n;
  }
  return parse_compare();
}

NodePtr Parser::parse_compare() {
  int line = cur().line;
  NodePtr expr = parse_math1();
  NodePtr cmp;
  while (true) {
    std::string op;
    if (cur().type == Tok::kOp && (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                                   cur().text == "<=" || cur().text == ">" || cur().text == ">=")) {
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

NodePtr Parser::binary(const std::string& op, int line, NodePtr a, NodePtr b) {
  link();
  auto n = node(NodeType::kBinary, line);
  n->name = op;
  n->a = std::move(a);
  n->b = std::move(b);
  return n;
}

NodePtr Parser::parse_math1() {
  NodePtr left = parse_concat();
  while (is_op("+") || is_op("-")) {
    Token op = take();
    left = binary(op.text, op.line, std::move(left), parse_concat());
  }
  return left;
}

NodePtr Parser::parse_concat() {
  NodePtr left = parse_math2();
  while (is_op("~")) {
    Token op = take();
    left = binary("~", op.line, std::move(left), parse_math2());
  }
  return left;
}

NodePtr Parser::parse_math2() {
  NodePtr left = parse_pow();
  while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
    Token op = take();
    left = binary(op.text, op.line, std::move(left), parse_pow());
  }
  return left;
}

NodePtr Parser::parse_pow() {
  NodePtr left = parse_unary(true);
  while (is_op("**")) {
    Token op = take();
    left = binary("**", op.line, std::move(left), parse_unary(true));
  }
  return left;
}

NodePtr Parser::parse_unary(bool with_filter) {
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

NodePtr Parser::parse_primary() {
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

NodePtr Parser::parse_postfix(NodePtr n) {
  while (true) {
    if (is_op(".") || is_op("[") || is_op("(")) link();
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

NodePtr Parser::parse_subscribed() {
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
void Parser::parse_call_args(Node* n) {
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

NodePtr Parser::parse_call(NodePtr callee) {
  auto n = node(NodeType::kCall, cur().line);
  n->a = std::move(callee);
  parse_call_args(n.get());
  return n;
}

NodePtr Parser::parse_filter_chain(NodePtr subject, bool start_inline) {
  bool first = true;
  while (is_op("|") || (start_inline && first)) {
    link();
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

NodePtr Parser::parse_filter_expr(NodePtr n) {
  while (true) {
    if (is_name("is") || is_op("(")) link();  // parse_filter_chain links each filter
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

NodePtr Parser::parse_test(NodePtr subject) {
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

}  // namespace enclave::jinja::detail
