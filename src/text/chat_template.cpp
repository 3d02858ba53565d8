#include "text/chat_template.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace enclave {
namespace {

using ordered_json = nlohmann::ordered_json;

// strftime_now's clock. SOURCE_DATE_EPOCH (the reproducible-builds variable)
// pins it, so renders that print today's date can be compared byte for byte.
std::string strftime_now(const std::string& format) {
  std::time_t t = std::time(nullptr);
  if (const char* pinned = std::getenv("SOURCE_DATE_EPOCH"); pinned != nullptr && *pinned) {
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(pinned, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0)
      fail_input("SOURCE_DATE_EPOCH: '{}' is not a count of seconds since 1970", pinned);
    t = static_cast<std::time_t>(v);
  }
  std::tm tm{};
  localtime_r(&t, &tm);
  std::string out(256, '\0');
  std::size_t n = std::strftime(out.data(), out.size(), format.c_str(), &tm);
  if (n == 0 && !format.empty()) fail_input("strftime_now: format '{}' is too long", format);
  out.resize(n);
  return out;
}

std::shared_ptr<const jinja::Template> compile(std::string_view source, std::string name) {
  jinja::Options options = jinja::chat_template_options();
  options.strftime_now = strftime_now;
  return std::make_shared<const jinja::Template>(
      jinja::Template::parse(source, std::move(name), std::move(options)));
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::kNotFound, "{}: cannot open the chat template", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail(ErrorKind::kIo, "{}: read error", path.string());
  return text.str();
}

ordered_json context(const ChatTemplate& tmpl, const ordered_json& messages,
                     const ChatRenderOptions& options) {
  ordered_json vars = tmpl.special_tokens;
  vars["messages"] = messages;
  vars["tools"] = options.tools;
  vars["documents"] = nullptr;
  vars["add_generation_prompt"] = options.add_generation_prompt;
  for (const auto& [key, value] : options.variables.items()) vars[key] = value;
  return vars;
}

const jinja::Template& choose(const ChatTemplate& tmpl, const ChatRenderOptions& options) {
  if (!options.tools.is_null() && tmpl.tool_use) return *tmpl.tool_use;
  return *tmpl.main;
}

void check_messages(const ordered_json& messages) {
  if (!messages.is_array()) fail_input("messages: expected a list of message objects");
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const ordered_json& m = messages[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      fail_input("messages[{}]: expected an object with a string 'role'", i);
  }
}

ordered_json slice(const ordered_json& messages, std::size_t n) {
  ordered_json out = ordered_json::array();
  for (std::size_t i = 0; i < n; ++i) out.push_back(messages[i]);
  return out;
}

}  // namespace

ordered_json chat_messages_json(const std::vector<ChatMessage>& messages) {
  ordered_json out = ordered_json::array();
  for (const ChatMessage& m : messages) out.push_back({{"role", m.role}, {"content", m.content}});
  return out;
}

ChatTemplate make_chat_template(std::string_view source, std::string origin,
                                const SpecialTokenConfig& specials,
                                std::optional<std::string> tool_use_source) {
  ChatTemplate tmpl;
  tmpl.source = std::string(source);
  tmpl.main = compile(source, origin);
  if (tool_use_source) {
    tmpl.tool_use = compile(*tool_use_source, origin + "[tool_use]");
    tmpl.tool_use_source = *tool_use_source;
  }
  tmpl.origin = std::move(origin);
  auto set = [&](const char* key, const std::optional<std::string>& value) {
    if (value) tmpl.special_tokens[key] = *value;
  };
  set("bos_token", specials.bos_token);
  set("eos_token", specials.eos_token);
  set("unk_token", specials.unk_token);
  set("pad_token", specials.pad_token);
  return tmpl;
}

std::optional<ChatTemplate> load_chat_template(const std::filesystem::path& model_dir) {
  SpecialTokenConfig specials = read_special_token_config(model_dir);
  const std::filesystem::path jinja_file = model_dir / "chat_template.jinja";
  std::error_code ec;
  if (std::filesystem::is_regular_file(jinja_file, ec)) {
    return make_chat_template(read_file(jinja_file), jinja_file.string(), specials,
                              specials.chat_template_tool_use);
  }
  if (!specials.chat_template) return std::nullopt;
  return make_chat_template(*specials.chat_template,
                            (model_dir / "tokenizer_config.json").string() + ": chat_template",
                            specials, specials.chat_template_tool_use);
}

ChatTemplate load_chat_template_file(const std::filesystem::path& file,
                                     const std::filesystem::path& model_dir) {
  return make_chat_template(read_file(file), file.string(), read_special_token_config(model_dir));
}

std::string render_chat(const ChatTemplate& tmpl, const ordered_json& messages,
                        const ChatRenderOptions& options) {
  check_messages(messages);
  return choose(tmpl, options).render(context(tmpl, messages, options));
}

std::string render_chat(const ChatTemplate& tmpl, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt) {
  ChatRenderOptions options;
  options.add_generation_prompt = add_generation_prompt;
  return render_chat(tmpl, chat_messages_json(messages), options);
}

ChatSpans render_chat_spans(const ChatTemplate& tmpl, const ordered_json& messages,
                            const ChatRenderOptions& options, std::string_view where) {
  check_messages(messages);
  ChatRenderOptions full_options = options;
  full_options.add_generation_prompt = false;
  const jinja::Template& chosen = choose(tmpl, full_options);
  jinja::Rendered full = chosen.render_with_spans(context(tmpl, messages, full_options));
  ChatSpans out{std::move(full.text), {}};
  if (chosen.has_generation_blocks()) {
    out.assistant = std::move(full.generation_spans);
    return out;
  }
  // No {% generation %} blocks: an assistant turn is what rendering the
  // conversation up to it adds after the generation prompt. Templates that
  // rewrite earlier turns (dropping past reasoning) keep at least the message
  // content and what follows it, which is searched for instead.
  std::size_t cursor = 0;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (messages[i]["role"] != "assistant") continue;
    ChatRenderOptions prompt_options = options;
    prompt_options.add_generation_prompt = true;
    const std::string prompt = render_chat(tmpl, slice(messages, i), prompt_options);
    const std::string upto = render_chat(tmpl, slice(messages, i + 1), full_options);
    if (upto.compare(0, prompt.size(), prompt) != 0) {
      fail(ErrorKind::kUnsupported,
           "{}: message {}: {} renders the conversation up to this assistant turn without its "
           "own generation prompt as a prefix, so the turn cannot be located",
           where, i, tmpl.origin);
    }
    std::string turn = upto.substr(prompt.size());
    std::size_t begin = out.text.find(turn, std::max(cursor, prompt.size()));
    if (begin == std::string::npos && messages[i].contains("content") &&
        messages[i]["content"].is_string()) {
      const std::string content = messages[i]["content"].get<std::string>();
      std::size_t at = content.empty() ? std::string::npos : turn.rfind(content);
      if (at != std::string::npos) {
        turn = turn.substr(at);
        begin = out.text.find(turn, cursor);
      }
    }
    if (begin == std::string::npos) {
      fail(ErrorKind::kUnsupported,
           "{}: message {}: {} rewrites this assistant turn in the full conversation, so the "
           "tokens to learn from cannot be located",
           where, i, tmpl.origin);
    }
    out.assistant.emplace_back(begin, begin + turn.size());
    cursor = begin + turn.size();
  }
  return out;
}

std::string describe_chat_template(const ChatTemplate& tmpl) {
  std::string origin = tmpl.origin;
  if (std::size_t slash = origin.rfind('/'); slash != std::string::npos)
    origin = origin.substr(slash + 1);
  return fmt::format("jinja, {} bytes{}, from {}", tmpl.source.size(),
                     tmpl.tool_use ? " (+ tool_use)" : "", origin);
}

}  // namespace enclave
