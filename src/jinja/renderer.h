// jinja/renderer: walks a parsed template for one render: jinja2's scoping
// (each loop iteration, macro call and `with` block has its own scope;
// `if` does not), expressions with Python's semantics, macros and call
// blocks, loop controls, generation spans, strict undefined, and the bounds
// of Options (output bytes, loop iterations, call depth).
// Thread safety: one Renderer per render; it is not shared.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "jinja/ast.h"
#include "jinja/jinja.h"
#include "jinja/value.h"

namespace enclave::jinja {

struct Scope {
  std::vector<std::pair<std::string, Value>> vars;
  std::shared_ptr<Scope> parent;

  const Value* find(const std::string& name) const;
  void set(const std::string& name, Value value);
};

class Renderer {
 public:
  Renderer(const Options& options, const std::string& name, const nlohmann::ordered_json& context);
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  // Runs the template's statements; output and generation spans go to `out`.
  void run(const std::vector<NodePtr>& body, Rendered& out);

  // Throws Error(kInvalidInput) "NAME:LINE: reason" at the node being run.
  [[noreturn]] void fail(const std::string& reason) const;
  const Options& options() const { return options_; }

  // The checks jinja2's (Strict)Undefined makes when a value is used: in
  // strict mode any use of an Undefined fails; `for_operation` (arithmetic,
  // attribute access) fails in both modes.
  void check_defined(const Value& v, bool for_operation = false) const;

  Value call(const Value& callee, Args& args);
  // Items a for loop or a filter iterates: list items, str code points, dict
  // keys; Undefined is empty (strict: an error).
  List iterate(const Value& v) const;
  // Counts iterations against max_loop_iterations.
  void count_iterations(std::size_t n);
  // Keeps a namespace() object so the render's end can break reference cycles.
  void track_namespace(const Value& ns);

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  void exec_body(const std::vector<NodePtr>& body, const std::shared_ptr<Scope>& scope);
  void exec(const Node& n, const std::shared_ptr<Scope>& scope);
  void exec_for(const Node& n, const std::shared_ptr<Scope>& scope);
  void run_loop(const Node& n, const std::shared_ptr<Scope>& scope, List items, std::size_t depth);
  void exec_set(const Node& n, const std::shared_ptr<Scope>& scope);
  void assign(const Node& target, const Value& v, const std::shared_ptr<Scope>& scope);
  std::string capture(const std::vector<NodePtr>& body, const std::shared_ptr<Scope>& scope);
  Value make_macro(const Node& n, const std::shared_ptr<Scope>& closure, Value caller);
  Value apply_filters(const Node& chain, Value v, const std::shared_ptr<Scope>& scope);
  void write(const std::string& s);

  Value eval(const Node& n, const std::shared_ptr<Scope>& scope);
  Value lookup(const std::string& name, const std::shared_ptr<Scope>& scope);
  void eval_args(const Node& n, const std::shared_ptr<Scope>& scope, Args& args);
  Value binary(const std::string& op, const Value& a, const Value& b);
  Value sized(Value v) const;
  bool compare(const std::string& op, const Value& a, const Value& b);
  Value subscript(const Value& obj, const Node& key, const std::shared_ptr<Scope>& scope);

  const Options& options_;
  const std::string& name_;
  Dict context_;
  std::string* out_ = nullptr;
  Rendered* rendered_ = nullptr;
  int capture_depth_ = 0;
  int line_ = 0;
  Flow flow_ = Flow::kNormal;
  std::size_t iterations_ = 0;
  std::size_t depth_ = 0;
  // Nesting of eval() and exec() calls, across macro calls: what bounds the
  // stack. The parser bounds one template's nesting, but a macro that
  // recurses max_call_depth times through a deep expression multiplies it
  // (a stack overflow found by fuzz/jinja_fuzz.cpp).
  static constexpr std::size_t kMaxRenderDepth = 2000;
  std::size_t render_depth_ = 0;
  struct RenderDepth {
    explicit RenderDepth(Renderer& r);
    ~RenderDepth() { --r_.render_depth_; }
    Renderer& r_;
  };
  std::vector<std::shared_ptr<Scope>> macro_scopes_;
  std::vector<Value> namespaces_;
};

}  // namespace enclave::jinja
