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
#include <vector>

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
};

// Detects the family from tokenizer_config.json's chat_template (and its BOS/EOS
// tokens). nullopt if the directory has no template. Throws Error(kUnsupported)
// for a template of a family we do not know.
std::optional<ChatTemplate> load_chat_template(const std::filesystem::path& model_dir);

// Renders messages; with add_generation_prompt, ends with the assistant header
// so the model continues as the assistant. Throws Error(kInvalidInput) for an
// unknown role or (mistral/llama2) roles that do not alternate user/assistant.
// The output includes the BOS text where the family's template writes it;
// encode it with add_special=false.
std::string render_chat(const ChatTemplate& tmpl, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt = true);

}  // namespace enclave
