// jinja/ast: the parsed form of a template: statement and expression nodes
// as jinja2.nodes has them, with filters and tests resolved at parse time.
// Thread safety: immutable after parsing; shared by concurrent renders.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jinja/value.h"

namespace enclave::jinja {

class Renderer;
struct Node;
using NodePtr = std::unique_ptr<Node>;

// A filter gets the value left of `|` and the call's arguments.
using FilterFn = Value (*)(Renderer&, const Value&, Args&);
using TestFn = bool (*)(Renderer&, const Value&, Args&);

enum class NodeType {
  // expressions
  kConst,     // value
  kName,      // name
  kGetattr,   // a.name
  kGetitem,   // a[b]
  kSlice,     // a, b, c (any may be null): start:stop:step
  kCall,      // a(list, kwargs)
  kFilter,    // a|name(list, kwargs); a is null in a filter block's chain
  kTest,      // a is name(list, kwargs)
  kNot,       // not a
  kNeg,       // -a
  kPos,       // +a
  kBinary,    // a name b: + - * / // % ** ~
  kAnd,       // a and b
  kOr,        // a or b
  kCompare,   // a (ops[i] list[i])...
  kCondExpr,  // b if a else c (c may be null)
  kList,      // [list]
  kTuple,     // (list)
  kDict,      // {list[2i]: list[2i+1]}
  // statements
  kText,         // name: literal text
  kOutput,       // {{ a }}
  kIf,           // if a: body else orelse (elif nests in orelse)
  kFor,          // for a in b [if c]: body else orelse
  kSet,          // a = b
  kSetBlock,     // a = body, filtered by c (a kFilter chain over null) when set
  kMacro,        // name(params): body
  kCallBlock,    // a (a kCall) with caller(params): body
  kFilterBlock,  // body through c (a kFilter chain over null)
  kWith,         // params: body
  kBreak,
  kContinue,
  kGeneration,  // body, whose output span is recorded
};

struct Node {
  NodeType type;
  int line = 0;
  std::string name;
  Value value;
  NodePtr a, b, c;
  std::vector<NodePtr> list;
  std::vector<std::pair<std::string, NodePtr>> kwargs;  // call kwargs; macro/with params
  std::vector<std::string> ops;                         // comparison operators
  std::vector<NodePtr> body, orelse;
  FilterFn filter = nullptr;
  TestFn test = nullptr;
};

}  // namespace enclave::jinja
