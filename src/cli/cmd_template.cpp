// `enclave template render`: the prompt text a model's own chat template
// makes of a conversation, byte for byte what transformers'
// apply_chat_template(..., tokenize=False) returns.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "core/json.h"
#include "text/chat_template.h"

namespace enclave::cli {
namespace {

using ordered_json = nlohmann::ordered_json;

struct TemplateFlags {
  std::string model;
  std::string messages;
  std::string tools;
  std::string chat_template;
  std::vector<std::string> vars;
  bool no_generation_prompt = false;
  bool json = false;
};

ordered_json read_array(const std::string& path, const char* flag) {
  ordered_json value = read_ordered_json_file(path);
  if (!value.is_array()) fail_input("{} {}: expected a JSON array", flag, path);
  return value;
}

// KEY=JSON, as transformers takes extra keyword arguments; a value that is
// not JSON is an error rather than a string, so `--var x=true` is a boolean.
std::pair<std::string, ordered_json> parse_var(const std::string& spec) {
  std::size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0)
    fail_input("--var '{}': expected KEY=JSON (e.g. enable_thinking=false)", spec);
  std::string key = spec.substr(0, eq);
  return {key, parse_ordered_json(spec.substr(eq + 1), fmt::format("--var {}", key))};
}

void run_render(const TemplateFlags& flags) {
  const std::filesystem::path dir = resolve_model_base(flags.model);
  std::optional<ChatTemplate> tmpl;
  if (!flags.chat_template.empty()) {
    tmpl = load_chat_template_file(flags.chat_template, dir);
  } else {
    tmpl = load_chat_template(dir);
    if (!tmpl) {
      fail(ErrorKind::kNotFound,
           "{}: the model has no chat template (no chat_template in tokenizer_config.json, no "
           "chat_template.jinja); give one with --chat-template FILE",
           flags.model);
    }
  }
  ChatRenderOptions options;
  options.add_generation_prompt = !flags.no_generation_prompt;
  if (!flags.tools.empty()) options.tools = read_array(flags.tools, "--tools");
  for (const std::string& spec : flags.vars) {
    auto [key, value] = parse_var(spec);
    options.variables[key] = std::move(value);
  }
  const std::string text = render_chat(*tmpl, read_array(flags.messages, "--messages"), options);
  if (flags.json) {
    fmt::print("{}\n", ordered_json{{"text", text}}.dump());
  } else {
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  std::fflush(stdout);
}

}  // namespace

void register_template(CLI::App& app) {
  CLI::App* group = app.add_subcommand("template");
  group->require_subcommand(1);
  auto flags = std::make_shared<TemplateFlags>();
  CLI::App* render = group->add_subcommand(
      "render", "Print the prompt a model's chat template makes of a conversation");
  render
      ->add_option("--model", flags->model,
                   "Model directory (the tokenizer files are enough) or registry reference")
      ->required();
  render
      ->add_option("--messages", flags->messages,
                   "JSON array of messages (role, content, tool_calls, name, tool_call_id)")
      ->required();
  render->add_option("--tools", flags->tools, "JSON array of OpenAI tool objects");
  render->add_option("--chat-template", flags->chat_template,
                     "Jinja file to use instead of the model's own template");
  render->add_flag("--no-generation-prompt", flags->no_generation_prompt,
                   "Do not end with the assistant header (add_generation_prompt=False)");
  render->add_option("--var", flags->vars,
                     "Extra template variable KEY=JSON (e.g. enable_thinking=false); repeatable");
  render->add_flag("--json", flags->json, "Print {\"text\": ...}");
  render->callback([flags] { run_render(*flags); });
}

}  // namespace enclave::cli
