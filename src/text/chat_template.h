// Chat templates: turn a list of messages into the prompt text a chat model
// was trained on. Families: llama3 (<|start_header_id|>), chatml (Qwen,
// <|im_start|>), mistral / llama2 ([INST] ... [/INST]). The family is chosen
// from the `chat_template` string in tokenizer_config.json; we render the
// family's format in C++ rather than running Jinja.
// Thread safety: immutable values; safe from many threads.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text/special_tokens.h"

namespace enclave {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

enum class ChatFamily { kLlama3, kChatml, kMistral, kLlama2 };

// "llama3", "chatml", "mistral", "llama2".
std::string chat_family_name(ChatFamily family);

struct ChatTemplate {
  ChatFamily family;
  std::string bos_token;  // text of BOS as the template writes it ("<s>", "<|begin_of_text|>")
  std::string eos_token;
  // The token that closes an assistant turn, which generation should stop on:
  // "<|eot_id|>" (llama3), "<|im_end|>" (chatml), eos_token (mistral, llama2).
  std::string end_of_turn;
  // chatml only: the system prompt the template inserts when the messages
  // have none (Qwen2: "You are a helpful assistant.").
  std::optional<std::string> default_system;
};

// The family a template text belongs to, by its markers: "<|start_header_id|>"
// -> llama3; "<|im_start|>" -> chatml; "[INST]" with "<<SYS>>" -> llama2;
// "[INST]" -> mistral. nullopt for anything else.
std::optional<ChatFamily> detect_chat_family(std::string_view template_text);

// The constant system prompt a chatml template writes when no system message
// is given ('<|im_start|>system\nTEXT<|im_end|>' as a Jinja literal); nullopt
// if it has none.
std::optional<std::string> chatml_default_system(std::string_view template_text);

// Builds the template from an already-read config: nullopt if it has no
// chat_template; BOS/EOS texts from the config, else the family's usual ones.
// Throws Error(kUnsupported) naming `what` and field 'chat_template' for a
// template of a family we do not know.
std::optional<ChatTemplate> chat_template_from_config(const SpecialTokenConfig& config,
                                                      std::string_view what);

// Detects the family from tokenizer_config.json's chat_template (and its BOS/EOS
// tokens), read with read_special_token_config. nullopt if the directory has no
// template. Throws Error(kUnsupported) for a template of a family we do not
// know, Error(kInvalidInput) for malformed files.
std::optional<ChatTemplate> load_chat_template(const std::filesystem::path& model_dir);

// Renders messages; with add_generation_prompt, ends with the assistant header
// so the model continues as the assistant (llama2/mistral templates ignore it:
// their prompt already ends with " [/INST]"). Throws Error(kInvalidInput) for
// a role other than system/user/assistant or (mistral/llama2) roles that do
// not alternate user/assistant after an optional first system message, or a
// system message with no user message after it.
// The output includes the BOS text where the family's template writes it;
// encode it with add_special=false.
std::string render_chat(const ChatTemplate& tmpl, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt = true);

}  // namespace enclave
