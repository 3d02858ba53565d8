// Chat templates rendered in C++. Each family reproduces, byte for byte, the
// Hugging Face Jinja template it stands for:
//   llama3  meta-llama/Meta-Llama-3-8B-Instruct
//   chatml  Qwen/Qwen2-7B-Instruct (default system prompt taken from the template)
//   llama2  meta-llama/Llama-2-7b-chat-hf (content.strip(), <<SYS>> block)
//   mistral mistralai/Mistral-7B-Instruct-v0.1 / v0.2 (system joined to the
//           first user message with "\n\n")
#include "text/chat_template.h"

#include "core/error.h"
#include "text/special_tokens.h"
#include "text/utf8.h"

namespace enclave {

namespace {

// Python's str.isspace() code points, which Jinja's |trim and str.strip() remove.
bool is_python_space(char32_t c) {
  if ((c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20)) return true;
  if (c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A)) return true;
  return c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Python's str.strip() with no argument. Bytes that are not valid UTF-8 are
// never whitespace, so they stop the strip.
std::string python_strip(std::string_view s) {
  std::size_t begin = 0;
  while (begin < s.size()) {
    std::size_t next = begin;
    char32_t c = next_code_point(s, next);
    if (utf8_sequence_length(s, begin) == 0 || !is_python_space(c)) break;
    begin = next;
  }
  std::size_t end = s.size();
  while (end > begin) {
    std::size_t start = end - 1;
    while (start > begin && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    std::size_t next = start;
    char32_t c = next_code_point(s, next);
    if (next != end || utf8_sequence_length(s, start) == 0 || !is_python_space(c)) break;
    end = start;
  }
  return std::string(s.substr(begin, end - begin));
}

void check_roles(const std::vector<ChatMessage>& messages) {
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const std::string& role = messages[i].role;
    if (role != "system" && role != "user" && role != "assistant") {
      fail_input("chat message {}: unknown role '{}' (expected system, user or assistant)", i,
                 role);
    }
  }
}

// llama2 and mistral: an optional leading system message, then user and
// assistant strictly alternating, starting with user.
struct InstTurns {
  std::optional<std::string> system;
  std::size_t first = 0;  // index of the first non-system message
};

InstTurns split_inst_turns(const std::vector<ChatMessage>& messages, ChatFamily family) {
  InstTurns turns;
  if (!messages.empty() && messages[0].role == "system") {
    turns.system = messages[0].content;
    turns.first = 1;
    if (messages.size() == 1) {
      fail_input("chat messages: {} needs a user message after the system message",
                 chat_family_name(family));
    }
  }
  for (std::size_t i = turns.first; i < messages.size(); ++i) {
    bool expect_user = (i - turns.first) % 2 == 0;
    if ((messages[i].role == "user") != expect_user || messages[i].role == "system") {
      fail_input(
          "chat message {}: role '{}': {} conversations must alternate user/assistant after an "
          "optional system message",
          i, messages[i].role, chat_family_name(family));
    }
  }
  return turns;
}

std::string render_llama3(const ChatTemplate& tmpl, const std::vector<ChatMessage>& messages,
                          bool add_generation_prompt) {
  std::string out;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (i == 0) out += tmpl.bos_token;
    out += "<|start_header_id|>" + messages[i].role + "<|end_header_id|>\n\n";
    out += python_strip(messages[i].content);
    out += "<|eot_id|>";
  }
  if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

std::string render_chatml(const ChatTemplate& tmpl, const std::vector<ChatMessage>& messages,
                          bool add_generation_prompt) {
  std::string out;
  if (!messages.empty() && messages[0].role != "system" && tmpl.default_system) {
    out += "<|im_start|>system\n" + *tmpl.default_system + "<|im_end|>\n";
  }
  for (const ChatMessage& m : messages) {
    out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  }
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

// The Llama 2 template ignores add_generation_prompt: a prompt ending in
// " [/INST]" already asks for the assistant.
std::string render_llama2(const ChatTemplate& tmpl, const std::vector<ChatMessage>& messages) {
  InstTurns turns = split_inst_turns(messages, ChatFamily::kLlama2);
  std::string out;
  for (std::size_t i = turns.first; i < messages.size(); ++i) {
    std::string content = messages[i].content;
    if (i == turns.first && turns.system) {
      content = "<<SYS>>\n" + *turns.system + "\n<</SYS>>\n\n" + content;
    }
    if (messages[i].role == "user") {
      out += tmpl.bos_token + "[INST] " + python_strip(content) + " [/INST]";
    } else {
      out += " " + python_strip(content) + " " + tmpl.eos_token;
    }
  }
  return out;
}

std::string render_mistral(const ChatTemplate& tmpl, const std::vector<ChatMessage>& messages) {
  InstTurns turns = split_inst_turns(messages, ChatFamily::kMistral);
  std::string out = tmpl.bos_token;
  for (std::size_t i = turns.first; i < messages.size(); ++i) {
    if (messages[i].role == "user") {
      std::string content = messages[i].content;
      if (i == turns.first && turns.system) content = *turns.system + "\n\n" + content;
      out += "[INST] " + content + " [/INST]";
    } else {
      out += messages[i].content + tmpl.eos_token;
    }
  }
  return out;
}

// Reads a Jinja string literal's body starting at `pos` up to `end_marker`;
// nullopt if the literal closes (or an expression starts) before it, i.e.
// the text there is not a constant.
std::optional<std::string> read_literal_until(std::string_view text, std::size_t pos,
                                              std::string_view end_marker) {
  std::string out;
  while (pos < text.size()) {
    if (text.substr(pos, end_marker.size()) == end_marker) return out;
    char c = text[pos];
    if (c == '\'' || c == '"' || c == '{' || c == '}') return std::nullopt;
    if (c == '\\' && pos + 1 < text.size()) {
      char e = text[pos + 1];
      out += e == 'n' ? '\n' : e == 't' ? '\t' : e;
      pos += 2;
      continue;
    }
    out += c;
    ++pos;
  }
  return std::nullopt;
}

}  // namespace

std::string chat_family_name(ChatFamily family) {
  switch (family) {
    case ChatFamily::kLlama3:
      return "llama3";
    case ChatFamily::kChatml:
      return "chatml";
    case ChatFamily::kMistral:
      return "mistral";
    case ChatFamily::kLlama2:
      return "llama2";
  }
  fail(ErrorKind::kInternal, "unknown ChatFamily {}", static_cast<int>(family));
}

std::optional<ChatFamily> detect_chat_family(std::string_view template_text) {
  auto has = [&](std::string_view s) { return template_text.find(s) != std::string_view::npos; };
  if (has("<|start_header_id|>")) return ChatFamily::kLlama3;
  if (has("<|im_start|>")) return ChatFamily::kChatml;
  if (has("[INST]")) return has("<<SYS>>") ? ChatFamily::kLlama2 : ChatFamily::kMistral;
  return std::nullopt;
}

std::optional<std::string> chatml_default_system(std::string_view template_text) {
  // The marker appears with an escaped "\n" inside a Jinja literal, or with a
  // real newline in templates written with block syntax.
  for (std::string_view marker :
       {std::string_view("<|im_start|>system\\n"), std::string_view("<|im_start|>system\n")}) {
    for (std::size_t pos = template_text.find(marker); pos != std::string_view::npos;
         pos = template_text.find(marker, pos + 1)) {
      if (auto text = read_literal_until(template_text, pos + marker.size(), "<|im_end|>")) {
        return text;
      }
    }
  }
  return std::nullopt;
}

std::optional<ChatTemplate> chat_template_from_config(const SpecialTokenConfig& config,
                                                      std::string_view what) {
  if (!config.chat_template) return std::nullopt;
  std::optional<ChatFamily> family = detect_chat_family(*config.chat_template);
  if (!family) {
    fail(ErrorKind::kUnsupported,
         "{}: field 'chat_template': unknown chat template family (known: llama3 "
         "<|start_header_id|>, chatml <|im_start|>, llama2 [INST] with <<SYS>>, mistral [INST])",
         what);
  }
  ChatTemplate tmpl;
  tmpl.family = *family;
  switch (*family) {
    case ChatFamily::kLlama3:
      tmpl.bos_token = config.bos_token.value_or("<|begin_of_text|>");
      tmpl.eos_token = config.eos_token.value_or("<|eot_id|>");
      tmpl.end_of_turn = "<|eot_id|>";
      break;
    case ChatFamily::kChatml:
      tmpl.bos_token = config.bos_token.value_or("");
      tmpl.eos_token = config.eos_token.value_or("<|im_end|>");
      tmpl.end_of_turn = "<|im_end|>";
      tmpl.default_system = chatml_default_system(*config.chat_template);
      break;
    case ChatFamily::kMistral:
    case ChatFamily::kLlama2:
      tmpl.bos_token = config.bos_token.value_or("<s>");
      tmpl.eos_token = config.eos_token.value_or("</s>");
      tmpl.end_of_turn = tmpl.eos_token;
      break;
  }
  return tmpl;
}

std::optional<ChatTemplate> load_chat_template(const std::filesystem::path& model_dir) {
  SpecialTokenConfig config = read_special_token_config(model_dir);
  return chat_template_from_config(config, (model_dir / "tokenizer_config.json").string());
}

std::string render_chat(const ChatTemplate& tmpl, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt) {
  check_roles(messages);
  switch (tmpl.family) {
    case ChatFamily::kLlama3:
      return render_llama3(tmpl, messages, add_generation_prompt);
    case ChatFamily::kChatml:
      return render_chatml(tmpl, messages, add_generation_prompt);
    case ChatFamily::kLlama2:
      return render_llama2(tmpl, messages);
    case ChatFamily::kMistral:
      return render_mistral(tmpl, messages);
  }
  fail(ErrorKind::kInternal, "unknown ChatFamily {}", static_cast<int>(tmpl.family));
}

}  // namespace enclave
