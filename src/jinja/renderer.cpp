// Renderer: statement execution (output, if/for/set/macro/call blocks,
// assignment, filter chains and calls). Expression evaluation and Python's
// operators are in expressions.cpp.
//
// Scoping follows jinja2's generated code: a `set` inside a loop body lives
// only for that iteration (the next iteration reads the outer value again),
// a `set` inside `if` belongs to the enclosing scope, macros see the scope
// they were defined in, and loop variables never leak out.
#include "jinja/renderer.h"

#include "core/error.h"
#include "jinja/builtins.h"
#include "jinja/loop.h"
#include "jinja/pystr.h"

namespace enclave::jinja {

const Value* Scope::find(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent.get()) {
    for (const auto& [k, v] : s->vars) {
      if (k == name) return &v;
    }
  }
  return nullptr;
}

void Scope::set(const std::string& name, Value value) {
  for (auto& [k, v] : vars) {
    if (k == name) {
      v = std::move(value);
      return;
    }
  }
  vars.emplace_back(name, std::move(value));
}

Renderer::~Renderer() {
  // Macros hold their defining scope, which holds them; namespaces can hold
  // themselves. Emptying both breaks those cycles.
  for (auto& s : macro_scopes_) s->vars.clear();
  for (auto& ns : namespaces_) ns.dict().items.clear();
}

void Renderer::track_namespace(const Value& ns) { namespaces_.push_back(ns); }

Renderer::Renderer(const Options& options, const std::string& name,
                   const nlohmann::ordered_json& context)
    : options_(options), name_(name) {
  if (context.is_object()) {
    context_.items.reserve(context.size());
    for (const auto& [k, v] : context.items()) {
      context_.items.emplace_back(Value::string(k), Value::from_json(v));
    }
  } else if (!context.is_null()) {
    fail_input("{}: the render context must be a JSON object, not {}", name, context.type_name());
  }
}

void Renderer::fail(const std::string& reason) const {
  fail_input("{}:{}: {}", name_, line_, reason);
}

void Renderer::check_defined(const Value& v, bool for_operation) const {
  if (!v.is_undefined() || (!for_operation && !options_.strict_undefined)) return;
  fail(v.str().empty() ? "undefined value" : v.str());
}

void Renderer::count_iterations(std::size_t n) {
  iterations_ += n;
  if (iterations_ > options_.max_loop_iterations) {
    fail(fmt::format("more than {} loop iterations (max_loop_iterations)",
                     options_.max_loop_iterations));
  }
}

void Renderer::write(const std::string& s) {
  out_->append(s);
  if (out_->size() > options_.max_output_bytes) {
    fail(fmt::format("output exceeds {} bytes (max_output_bytes)", options_.max_output_bytes));
  }
}

void Renderer::run(const std::vector<NodePtr>& body, Rendered& out) {
  rendered_ = &out;
  out_ = &out.text;
  auto scope = std::make_shared<Scope>();
  exec_body(body, scope);
}

void Renderer::exec_body(const std::vector<NodePtr>& body, const std::shared_ptr<Scope>& scope) {
  for (const auto& n : body) {
    exec(*n, scope);
    if (flow_ != Flow::kNormal) return;
  }
}

std::string Renderer::capture(const std::vector<NodePtr>& body,
                              const std::shared_ptr<Scope>& scope) {
  std::string buf;
  std::string* saved = out_;
  out_ = &buf;
  ++capture_depth_;
  try {
    exec_body(body, scope);
  } catch (...) {
    out_ = saved;
    --capture_depth_;
    throw;
  }
  out_ = saved;
  --capture_depth_;
  return buf;
}

Renderer::RenderDepth::RenderDepth(Renderer& r) : r_(r) {
  if (++r_.render_depth_ > kMaxRenderDepth) {
    --r_.render_depth_;
    r_.fail(
        fmt::format("expressions and blocks nested more than {} deep while rendering "
                    "(macro calls multiply the template's nesting)",
                    kMaxRenderDepth));
  }
}

void Renderer::exec(const Node& n, const std::shared_ptr<Scope>& scope) {
  const RenderDepth guard(*this);
  line_ = n.line;
  switch (n.type) {
    case NodeType::kText:
      write(n.name);
      return;
    case NodeType::kOutput: {
      Value v = eval(*n.a, scope);
      line_ = n.line;
      check_defined(v);
      if (v.is_string()) {
        write(v.str());
      } else {
        std::string s;
        append_py_str(s, v);
        write(s);
      }
      return;
    }
    case NodeType::kIf: {
      Value c = eval(*n.a, scope);
      check_defined(c);
      exec_body(c.truthy() ? n.body : n.orelse, scope);
      return;
    }
    case NodeType::kFor:
      exec_for(n, scope);
      return;
    case NodeType::kSet:
      assign(*n.a, eval(*n.b, scope), scope);
      return;
    case NodeType::kSetBlock: {
      Value v = Value::string(capture(n.body, scope));
      if (n.c) v = apply_filters(*n.c, std::move(v), scope);
      assign(*n.a, v, scope);
      return;
    }
    case NodeType::kMacro:
      scope->set(n.name, make_macro(n, scope, Value()));
      return;
    case NodeType::kCallBlock: {
      const Node& call = *n.a;
      Value caller_fn = make_macro(n, scope, Value());
      Value callee;
      Args args;
      if (call.a->type == NodeType::kGetattr) {
        Value obj = eval(*call.a->a, scope);
        check_defined(obj, true);
        callee = get_attr(*this, obj, call.a->name);
      } else {
        callee = eval(*call.a, scope);
      }
      eval_args(call, scope, args);
      args.kw.emplace_back("caller", caller_fn);
      line_ = n.line;
      Value v = this->call(callee, args);
      std::string s;
      append_py_str(s, v);
      write(s);
      return;
    }
    case NodeType::kFilterBlock: {
      Value v = apply_filters(*n.c, Value::string(capture(n.body, scope)), scope);
      std::string s;
      append_py_str(s, v);
      write(s);
      return;
    }
    case NodeType::kWith: {
      auto inner = std::make_shared<Scope>();
      inner->parent = scope;
      for (const auto& [k, e] : n.kwargs) inner->set(k, eval(*e, scope));
      exec_body(n.body, inner);
      return;
    }
    case NodeType::kBreak:
      flow_ = Flow::kBreak;
      return;
    case NodeType::kContinue:
      flow_ = Flow::kContinue;
      return;
    case NodeType::kGeneration: {
      std::size_t begin = out_->size();
      exec_body(n.body, scope);
      if (capture_depth_ == 0) rendered_->generation_spans.emplace_back(begin, out_->size());
      return;
    }
    default:
      fail("internal: not a statement");
  }
}

void Renderer::exec_for(const Node& n, const std::shared_ptr<Scope>& scope) {
  Value iterable = eval(*n.b, scope);
  line_ = n.line;
  run_loop(n, scope, iterate(iterable), 1);
}

void Renderer::run_loop(const Node& n, const std::shared_ptr<Scope>& scope, List items,
                        std::size_t depth) {
  if (n.c) {
    List kept;
    for (auto& item : items) {
      count_iterations(1);
      auto s = std::make_shared<Scope>();
      s->parent = scope;
      assign(*n.a, item, s);
      Value keep = eval(*n.c, s);
      check_defined(keep);
      if (keep.truthy()) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  auto state = std::make_shared<LoopState>();
  state->length = items.size();
  state->depth = depth;
  auto shared_items = std::make_shared<const List>(std::move(items));
  state->items = shared_items;
  if (n.name == "recursive") {
    const Node* node = &n;
    state->recurse = [this, node, scope, depth](const Value& more) {
      if (depth + 1 > options_.max_call_depth) {
        fail(fmt::format("recursive loop nested deeper than {} (max_call_depth)",
                         options_.max_call_depth));
      }
      std::string buf;
      std::string* saved = out_;
      out_ = &buf;
      ++capture_depth_;
      try {
        run_loop(*node, scope, iterate(more), depth + 1);
      } catch (...) {
        out_ = saved;
        --capture_depth_;
        throw;
      }
      out_ = saved;
      --capture_depth_;
      return buf;
    };
  }
  Value loop = Value::loop(state);
  for (std::size_t k = 0; k < shared_items->size(); ++k) {
    line_ = n.line;
    count_iterations(1);
    state->index = k;
    auto s = std::make_shared<Scope>();
    s->parent = scope;
    s->vars.reserve(3);
    s->set("loop", loop);
    assign(*n.a, (*shared_items)[k], s);
    exec_body(n.body, s);
    if (flow_ == Flow::kBreak) {
      flow_ = Flow::kNormal;
      break;
    }
    flow_ = Flow::kNormal;
  }
  // The recursion closure holds this scope; the loop is over.
  state->recurse = nullptr;
  if (shared_items->empty() && !n.orelse.empty()) {
    auto s = std::make_shared<Scope>();
    s->parent = scope;
    exec_body(n.orelse, s);
  }
}

void Renderer::assign(const Node& target, const Value& v, const std::shared_ptr<Scope>& scope) {
  if (target.type == NodeType::kName) {
    scope->set(target.name, v);
    return;
  }
  if (target.type == NodeType::kTuple) {
    List items = iterate(v);
    if (items.size() != target.list.size()) {
      fail(fmt::format("{} values to unpack (expected {}, got {})",
                       items.size() > target.list.size() ? "too many" : "not enough",
                       target.list.size(), items.size()));
    }
    for (std::size_t k = 0; k < items.size(); ++k) assign(*target.list[k], items[k], scope);
    return;
  }
  // {% set ns.attr = v %}
  Value ns = lookup(target.a->name, scope);
  if (ns.kind() != Kind::kNamespace) fail("Cannot assign attribute on non-namespace object");
  ns.dict().set(Value::string(target.name), v);
}

Value Renderer::make_macro(const Node& n, const std::shared_ptr<Scope>& closure, Value caller) {
  const Node* node = &n;
  macro_scopes_.push_back(closure);
  return Value::callable(n.name, [node, closure, caller](Renderer& r, Args& args) {
    if (++r.depth_ > r.options_.max_call_depth) {
      r.fail(fmt::format("macro calls nested deeper than {} (max_call_depth)",
                         r.options_.max_call_depth));
    }
    auto s = std::make_shared<Scope>();
    s->parent = closure;
    std::size_t n_params = node->kwargs.size();
    List varargs;
    for (std::size_t k = n_params; k < args.pos.size(); ++k) varargs.push_back(args.pos[k]);
    Dict kwargs;
    for (std::size_t k = 0; k < n_params; ++k) {
      const auto& [pname, def] = node->kwargs[k];
      const Value* given = k < args.pos.size() ? &args.pos[k] : nullptr;
      for (const auto& [key, v] : args.kw) {
        if (key == pname) given = &v;
      }
      if (given) {
        s->set(pname, *given);
      } else if (def) {
        s->set(pname, r.eval(*def, s));
      } else {
        s->set(pname, Value::undefined("parameter '" + pname + "' was not provided"));
      }
    }
    bool has_caller = !caller.is_undefined();
    for (const auto& [key, v] : args.kw) {
      bool is_param = false;
      for (const auto& p : node->kwargs) is_param |= p.first == key;
      if (key == "caller") {
        s->set("caller", v);
        has_caller = true;
      } else if (!is_param) {
        kwargs.set(Value::string(key), v);
      }
    }
    if (has_caller && !caller.is_undefined()) s->set("caller", caller);
    s->set("varargs", Value::list(std::move(varargs), true));
    s->set("kwargs", Value::dict(std::move(kwargs)));
    int saved_line = r.line_;
    std::string text = r.capture(node->body, s);
    r.line_ = saved_line;
    --r.depth_;
    return Value::string(std::move(text));
  });
}

Value Renderer::apply_filters(const Node& chain, Value v, const std::shared_ptr<Scope>& scope) {
  if (chain.a) v = apply_filters(*chain.a, std::move(v), scope);
  Args args;
  eval_args(chain, scope, args);
  line_ = chain.line;
  return chain.filter(*this, v, args);
}

Value Renderer::call(const Value& callee, Args& args) {
  if (callee.kind() == Kind::kCallable) return callee.fn().call(*this, args);
  if (callee.kind() == Kind::kLoop) {
    if (!callee.loop_state().recurse) {
      fail("The loop must have the 'recursive' marker to be called recursively.");
    }
    if (args.pos.size() != 1 || !args.kw.empty()) fail("loop() takes exactly one argument");
    return Value::string(callee.loop_state().recurse(args.pos[0]));
  }
  if (callee.is_undefined()) {
    if (callee.is_unsafe_undefined()) fail(callee.str());
    fail(callee.str().empty() ? "undefined value is not callable" : callee.str());
  }
  fail("'" + type_name(callee) + "' object is not callable");
}

List Renderer::iterate(const Value& v) const {
  switch (v.kind()) {
    case Kind::kList:
      return v.items();
    case Kind::kDict: {
      List keys;
      keys.reserve(v.dict().items.size());
      for (const auto& [k, e] : v.dict().items) keys.push_back(k);
      return keys;
    }
    case Kind::kString: {
      List chars;
      const std::string& s = v.str();
      for (std::size_t pos = 0; pos < s.size();) {
        std::size_t start = pos;
        cp_decode(s, pos);
        chars.push_back(Value::string(s.substr(start, pos - start)));
      }
      return chars;
    }
    case Kind::kUndefined:
      check_defined(v);
      return {};
    default:
      fail("'" + type_name(v) + "' object is not iterable");
  }
}

void Renderer::eval_args(const Node& n, const std::shared_ptr<Scope>& scope, Args& args) {
  args.pos.reserve(n.list.size());
  for (const auto& a : n.list) args.pos.push_back(eval(*a, scope));
  if (n.b) {  // *dyn_args
    for (auto& v : iterate(eval(*n.b, scope))) args.pos.push_back(std::move(v));
  }
  for (const auto& [k, e] : n.kwargs) args.kw.emplace_back(k, eval(*e, scope));
  if (n.c) {  // **dyn_kwargs
    Value d = eval(*n.c, scope);
    if (!d.is_dict()) fail("argument after ** must be a mapping, not " + type_name(d));
    for (const auto& [k, v] : d.dict().items) {
      if (!k.is_string()) fail("keywords must be strings");
      for (const auto& [name, given] : args.kw) {
        if (name == k.str()) fail("got multiple values for keyword argument '" + name + "'");
      }
      args.kw.emplace_back(k.str(), v);
    }
  }
}

Value Renderer::lookup(const std::string& name, const std::shared_ptr<Scope>& scope) {
  if (const Value* v = scope->find(name)) return *v;
  if (const Value* v = context_.find(std::string_view(name))) return *v;
  Value g = global_function(*this, name);
  if (!g.is_undefined()) return g;
  return Value::undefined("'" + name + "' is undefined");
}

}  // namespace enclave::jinja
