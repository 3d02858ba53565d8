// Template: parse once (lexer, parser), render many times; each render has
// its own Renderer over the shared, immutable tree.
#include "jinja/jinja.h"

#include <new>

#include "core/error.h"
#include "jinja/lexer.h"
#include "jinja/parser.h"
#include "jinja/renderer.h"

namespace enclave::jinja {

struct Template::Program {
  std::string name;
  Options options;
  std::vector<NodePtr> body;
  bool has_generation = false;
};

namespace {

bool contains_generation(const std::vector<NodePtr>& body) {
  for (const auto& n : body) {
    if (n->type == NodeType::kGeneration || contains_generation(n->body) ||
        contains_generation(n->orelse)) {
      return true;
    }
  }
  return false;
}

}  // namespace

Options chat_template_options() {
  Options o;
  o.trim_blocks = true;
  o.lstrip_blocks = true;
  o.transformers_globals = true;
  return o;
}

Template Template::parse(std::string_view source, std::string name, Options options) {
  auto program = std::make_shared<Program>();
  program->name = std::move(name);
  program->options = std::move(options);
  program->body = parse_tokens(tokenize(source, program->name, program->options), program->name,
                               program->options);
  program->has_generation = contains_generation(program->body);
  Template t;
  t.program_ = std::move(program);
  return t;
}

Rendered Template::render_with_spans(const nlohmann::ordered_json& context) const {
  ENCLAVE_CHECK(program_ != nullptr);  // a default-constructed Template was never parsed
  Rendered out;
  try {
    Renderer r(program_->options, program_->name, context);
    r.run(program_->body, out);
  } catch (const std::bad_alloc&) {
    // A template that builds more than memory holds is the template's error.
    fail_input("{}: out of memory while rendering", program_->name);
  }
  return out;
}

std::string Template::render(const nlohmann::ordered_json& context) const {
  return render_with_spans(context).text;
}

const std::string& Template::name() const {
  ENCLAVE_CHECK(program_ != nullptr);
  return program_->name;
}

bool Template::has_generation_blocks() const {
  ENCLAVE_CHECK(program_ != nullptr);
  return program_->has_generation;
}

}  // namespace enclave::jinja
