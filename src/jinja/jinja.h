// jinja: a sandboxed Jinja2 engine for the programs users bring with their
// models: chat templates (tokenizer_config.json's chat_template,
// chat_template.jinja) and lm-evaluation-harness task files (doc_to_text,
// doc_to_target, doc_to_choice). It renders byte-for-byte what Python's
// jinja2 renders under the same environment settings. No I/O: a template
// sees only its context and the built-in functions below; loop iterations,
// recursion depth and output size are bounded.
// Thread safety: a parsed Template is immutable; render() may be called from
// many threads at once.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace enclave::jinja {

// Environment settings, as jinja2.Environment takes them.
struct Options {
  // transformers' chat templates: trim_blocks = lstrip_blocks = true.
  bool trim_blocks = false;
  bool lstrip_blocks = false;
  // jinja2 drops one trailing newline of the source unless this is set
  // (lm-evaluation-harness sets it; transformers does not).
  bool keep_trailing_newline = false;
  // An undefined variable used in output or an operation is an error
  // (jinja2.StrictUndefined, as lm-evaluation-harness uses) rather than "".
  bool strict_undefined = false;
  // transformers' additions: `raise_exception(msg)`, `strftime_now(fmt)`,
  // its `tojson` (non-ASCII kept, keys in insertion order, `indent`),
  // loop controls (`break`/`continue`) and `{% generation %}` blocks.
  bool transformers_globals = false;
  // lm-evaluation-harness's addition: the `regex_replace(pattern, repl,
  // count=0)` filter, Python's re.sub (patterns run on RE2, which shares
  // Python's syntax for the common constructs).
  bool lm_eval_filters = false;
  // strftime_now's clock; empty means the machine's local time. Tests pin it.
  std::function<std::string(const std::string& format)> strftime_now;
  // Bounds: the render fails (naming the template and line) past these.
  std::size_t max_output_bytes = std::size_t{64} << 20;
  std::size_t max_loop_iterations = 1'000'000;  // all loops of one render together
  std::size_t max_call_depth = 256;             // macro/call nesting and recursion
};

// Options transformers uses for chat templates (ImmutableSandboxedEnvironment
// with trim_blocks, lstrip_blocks, loop controls, generation blocks,
// raise_exception, strftime_now and its tojson).
Options chat_template_options();

// Output of a render, with the byte ranges [begin, end) of text that
// `{% generation %}` blocks produced (transformers' assistant masks).
struct Rendered {
  std::string text;
  std::vector<std::pair<std::size_t, std::size_t>> generation_spans;
};

class Template {
 public:
  // Parses `source`. `name` identifies it in errors ("path/tokenizer_config.json:
  // chat_template"). Throws Error(kInvalidInput) "NAME:LINE: reason" for a
  // syntax error or an unknown filter/test name.
  static Template parse(std::string_view source, std::string name, Options options = {});

  // Renders with `context` as the template's variables (keys in insertion
  // order, as Python dicts keep them). Throws Error(kInvalidInput)
  // "NAME:LINE: reason" for a runtime error (bad operand types, undefined
  // variable in strict mode, a bound exceeded) and for raise_exception(msg),
  // whose message is msg.
  std::string render(const nlohmann::ordered_json& context) const;
  Rendered render_with_spans(const nlohmann::ordered_json& context) const;

  const std::string& name() const;

  // Whether the template has `{% generation %}` blocks (then SFT masks can
  // come from Rendered::generation_spans, as transformers' do).
  bool has_generation_blocks() const;

 private:
  struct Program;
  std::shared_ptr<const Program> program_;
};

}  // namespace enclave::jinja
