// Chat templates: turn a conversation into the prompt text a chat model was
// trained on by running the model's own `chat_template` (a Jinja program from
// tokenizer_config.json or chat_template.jinja) the way transformers'
// `apply_chat_template(..., tokenize=False)` does: same environment settings,
// same variables (messages, tools, add_generation_prompt, the special-token
// texts, extra keyword arguments), byte-identical output.
// Thread safety: a ChatTemplate is immutable after loading; render from many
// threads at once.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jinja/jinja.h"
#include "text/special_tokens.h"

namespace enclave {

// A message with a plain-text content; conversations with tool calls or
// content parts are passed to render_chat as JSON instead.
struct ChatMessage {
  std::string role;  // "system", "user", "assistant", "tool", ...
  std::string content;
};

// [{"role", "content"}, ...] as the template sees it.
nlohmann::ordered_json chat_messages_json(const std::vector<ChatMessage>& messages);

struct ChatTemplate {
  std::string origin;           // where it was read: "DIR/tokenizer_config.json: chat_template"
  std::string source;           // the main template's text
  std::string tool_use_source;  // the tool_use template's text, or empty
  std::shared_ptr<const jinja::Template> main;      // "default", or the only template
  std::shared_ptr<const jinja::Template> tool_use;  // the "tool_use" one, when named
  // Variables every render gets, as transformers passes its special_tokens_map:
  // bos_token, eos_token, unk_token, pad_token (those the files set).
  nlohmann::ordered_json special_tokens = nlohmann::ordered_json::object();
};

struct ChatRenderOptions {
  bool add_generation_prompt = true;
  // OpenAI tool objects ([{"type": "function", "function": {...}}]); null
  // when the request has none (templates test `tools is not none`).
  nlohmann::ordered_json tools = nullptr;
  // Extra keyword arguments (e.g. {"enable_thinking": false}); they override
  // the special tokens, as in transformers.
  nlohmann::ordered_json variables = nlohmann::ordered_json::object();
};

// Builds the template from its text. `origin` names it in errors; `named`
// holds the other templates of a named list (only "tool_use" is used).
// Throws Error(kInvalidInput) "ORIGIN:LINE: reason" for a syntax error.
ChatTemplate make_chat_template(std::string_view source, std::string origin,
                                const SpecialTokenConfig& specials,
                                std::optional<std::string> tool_use_source = std::nullopt);

// The model's template: chat_template.jinja when the folder has one (as recent
// exports write it), else tokenizer_config.json's chat_template (a string, or
// a list of {name, template} with "default" and optionally "tool_use").
// nullopt if the folder has none. Error(kInvalidInput) for malformed files or
// a template that does not parse.
std::optional<ChatTemplate> load_chat_template(const std::filesystem::path& model_dir);

// A template from a file the user names (--chat-template FILE), with the
// model folder's special tokens.
ChatTemplate load_chat_template_file(const std::filesystem::path& file,
                                     const std::filesystem::path& model_dir);

// Renders `messages` (a JSON array of message objects, as the OpenAI and
// transformers APIs take them). The tool_use template is chosen when tools
// are given and the model has one. Throws Error(kInvalidInput) naming the
// template and line for a template error, or with the template's own message
// for raise_exception (e.g. roles that do not alternate).
// The output includes the BOS text where the template writes it; encode it
// with add_special=false.
std::string render_chat(const ChatTemplate& tmpl, const nlohmann::ordered_json& messages,
                        const ChatRenderOptions& options);
std::string render_chat(const ChatTemplate& tmpl, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt = true);

// The byte ranges of `render_chat(tmpl, messages, {add_generation_prompt =
// false, ...})` that are assistant output, for training masks: the template's
// `{% generation %}` spans when it has them, otherwise each assistant
// message's rendered text, found by rendering the conversation up to and
// including it. Throws Error(kUnsupported) naming `where` when an assistant
// turn cannot be located in the full rendering.
struct ChatSpans {
  std::string text;
  std::vector<std::pair<std::size_t, std::size_t>> assistant;
};
ChatSpans render_chat_spans(const ChatTemplate& tmpl, const nlohmann::ordered_json& messages,
                            const ChatRenderOptions& options, std::string_view where);

// A one-line description for `model inspect`: "jinja, 3827 bytes (+ tool_use),
// from tokenizer_config.json".
std::string describe_chat_template(const ChatTemplate& tmpl);

}  // namespace enclave
