#include "serve/tool_calls.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace enclave::serve {
namespace {

using ordered_json = nlohmann::ordered_json;

constexpr std::string_view kHermesOpen = "<tool_call>";
constexpr std::string_view kHermesClose = "</tool_call>";
constexpr std::string_view kPythonTag = "<|python_tag|>";
constexpr std::string_view kMistralTag = "[TOOL_CALLS]";

std::string_view trim(std::string_view s) {
  const auto white = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!s.empty() && white(s.front())) s.remove_prefix(1);
  while (!s.empty() && white(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<ordered_json> parse_json(std::string_view text) {
  ordered_json j = ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// One call object: {"name", "arguments"|"parameters": object or JSON text}.
std::optional<ToolCall> call_of(const ordered_json& j, const std::vector<ToolFunction>& tools) {
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) return std::nullopt;
  const std::string name = j["name"].get<std::string>();
  auto tool = std::find_if(tools.begin(), tools.end(),
                           [&](const ToolFunction& f) { return f.name == name; });
  if (tool == tools.end()) return std::nullopt;
  const char* key = j.contains("arguments") ? "arguments" : "parameters";
  ToolCall call;
  call.name = name;
  if (!j.contains(key)) {
    call.arguments = "{}";
  } else if (j[key].is_object()) {
    call.arguments = j[key].dump(-1, ' ', false, ordered_json::error_handler_t::replace);
  } else if (j[key].is_string()) {
    // Some models write the arguments as JSON text already.
    std::optional<ordered_json> inner = parse_json(j[key].get<std::string>());
    if (!inner || !inner->is_object()) return std::nullopt;
    call.arguments = inner->dump(-1, ' ', false, ordered_json::error_handler_t::replace);
  } else {
    return std::nullopt;
  }
  if (tool->strict_grammar) {
    // Checked in the grammar's property order: the schema's keys sorted, as
    // nlohmann::json writes them.
    JsonMatcher m(tool->strict_grammar);
    if (!m.advance(nlohmann::json::parse(call.arguments).dump()) || !m.complete())
      return std::nullopt;
  }
  return call;
}

std::vector<ToolCall> parse_hermes(std::string_view text, const std::vector<ToolFunction>& tools,
                                   std::string& content) {
  std::vector<ToolCall> calls;
  std::string outside;
  std::size_t at = 0;
  while (true) {
    const std::size_t open = text.find(kHermesOpen, at);
    if (open == std::string_view::npos) {
      outside += text.substr(at);
      break;
    }
    outside += text.substr(at, open - at);
    const std::size_t body = open + kHermesOpen.size();
    std::size_t close = text.find(kHermesClose, body);
    // A reply cut at its end may lack the last closing tag.
    const std::size_t end = close == std::string_view::npos ? text.size() : close;
    std::optional<ordered_json> j = parse_json(trim(text.substr(body, end - body)));
    std::optional<ToolCall> call = j ? call_of(*j, tools) : std::nullopt;
    if (!call) return {};
    calls.push_back(std::move(*call));
    at = close == std::string_view::npos ? text.size() : close + kHermesClose.size();
  }
  content = std::string(trim(outside));
  return calls;
}

std::vector<ToolCall> parse_llama(std::string_view text, const std::vector<ToolFunction>& tools) {
  text = trim(text);
  if (text.starts_with(kPythonTag)) text = trim(text.substr(kPythonTag.size()));
  if (!text.starts_with("{")) return {};
  std::vector<ToolCall> calls;
  if (std::optional<ordered_json> j = parse_json(text)) {
    std::optional<ToolCall> call = call_of(*j, tools);
    if (!call) return {};
    calls.push_back(std::move(*call));
    return calls;
  }
  // Several calls separated by ";" (Llama 3.1's parallel form).
  std::size_t at = 0;
  while (at <= text.size()) {
    std::size_t semi = text.find(';', at);
    while (true) {
      const std::size_t end = semi == std::string_view::npos ? text.size() : semi;
      std::optional<ordered_json> j = parse_json(trim(text.substr(at, end - at)));
      if (j) {
        std::optional<ToolCall> call = call_of(*j, tools);
        if (!call) return {};
        calls.push_back(std::move(*call));
        at = end + 1;
        break;
      }
      if (semi == std::string_view::npos) return {};
      semi = text.find(';', semi + 1);  // the ";" was inside a string
    }
    if (at > text.size()) break;
  }
  return calls;
}

std::vector<ToolCall> parse_mistral(std::string_view text, const std::vector<ToolFunction>& tools) {
  text = trim(text);
  if (text.starts_with(kMistralTag)) text = trim(text.substr(kMistralTag.size()));
  if (!text.starts_with("[") && !text.starts_with("{")) return {};
  std::optional<ordered_json> j = parse_json(text);
  if (!j) return {};
  const ordered_json list = j->is_array() ? *j : ordered_json::array({*j});
  std::vector<ToolCall> calls;
  for (const ordered_json& item : list) {
    std::optional<ToolCall> call = call_of(item, tools);
    if (!call) return {};
    calls.push_back(std::move(*call));
  }
  return calls;
}

// Where in text a call may begin (npos: none yet); partial: the text ends
// with what may become a marker.
std::size_t call_start(std::string_view text, ToolCallFormat format, bool at_start) {
  if (format == ToolCallFormat::kHermes) {
    const std::size_t open = text.find(kHermesOpen);
    if (open != std::string_view::npos) return open;
    for (std::size_t n = std::min(text.size(), kHermesOpen.size() - 1); n > 0; --n) {
      if (kHermesOpen.starts_with(text.substr(text.size() - n))) return text.size() - n;
    }
    return std::string_view::npos;
  }
  // Llama and Mistral calls are the whole reply: decided by its first
  // non-blank character.
  if (!at_start) return std::string_view::npos;
  const std::size_t first = text.find_first_not_of(" \n\r\t");
  if (first == std::string_view::npos) return 0;  // only blanks so far: wait
  const char c = text[first];
  if (c == '{' || c == '<' || (format == ToolCallFormat::kMistral && c == '[')) return 0;
  return std::string_view::npos;
}

}  // namespace

ToolCallFormat tool_call_format(ChatFamily family) {
  switch (family) {
    case ChatFamily::kLlama3:
      return ToolCallFormat::kLlamaJson;
    case ChatFamily::kChatml:
      return ToolCallFormat::kHermes;
    case ChatFamily::kMistral:
    case ChatFamily::kLlama2:
      return ToolCallFormat::kMistral;
  }
  return ToolCallFormat::kHermes;
}

ParsedReply parse_tool_calls(std::string_view text, ToolCallFormat format,
                             const std::vector<ToolFunction>& tools) {
  ParsedReply reply;
  switch (format) {
    case ToolCallFormat::kHermes:
      reply.calls = parse_hermes(text, tools, reply.content);
      break;
    case ToolCallFormat::kLlamaJson:
      reply.calls = parse_llama(text, tools);
      break;
    case ToolCallFormat::kMistral:
      reply.calls = parse_mistral(text, tools);
      break;
  }
  if (reply.calls.empty()) reply.content = std::string(text);
  return reply;
}

std::shared_ptr<const JsonGrammar> tool_call_grammar(ToolCallFormat format,
                                                     const std::vector<ToolFunction>& tools,
                                                     const std::string& only) {
  ordered_json alternatives = ordered_json::array();
  const char* args_key = format == ToolCallFormat::kLlamaJson ? "parameters" : "arguments";
  for (std::size_t i = 0; i < tools.size(); ++i) {
    const ToolFunction& f = tools[i];
    if (!only.empty() && f.name != only) continue;
    ordered_json params = f.parameters.is_null() ? ordered_json{{"type", "object"}}
                                                 : ordered_json::parse(f.parameters.dump());
    // Checked alone first, so an error names the tool's own schema.
    try {
      JsonGrammar::from_schema(params);
    } catch (const SchemaError& e) {
      const std::string at = fmt::format("tools[{}].function.parameters", i);
      throw SchemaError(e.path().empty() ? at : at + "." + e.path(), e.what());
    }
    alternatives.push_back({{"type", "object"},
                            {"properties", {{"name", {{"const", f.name}}}, {args_key, params}}},
                            {"required", {"name", args_key}}});
  }
  ordered_json call =
      alternatives.size() == 1 ? alternatives[0] : ordered_json{{"anyOf", alternatives}};
  switch (format) {
    case ToolCallFormat::kHermes:
      return JsonGrammar::from_schema(call, "<tool_call>\n", "\n</tool_call>");
    case ToolCallFormat::kMistral:
      return JsonGrammar::from_schema(
          ordered_json{{"type", "array"}, {"items", call}, {"minItems", 1}, {"maxItems", 1}}, "",
          "");
    case ToolCallFormat::kLlamaJson:
      break;
  }
  return JsonGrammar::from_schema(call);
}

std::string ToolCallStream::push(std::string_view text) {
  pending_ += text;
  if (holding_) return "";
  if (content_only_) {
    std::string out = std::move(pending_);
    pending_.clear();
    return out;
  }
  const std::size_t start = call_start(pending_, format_, !sent_any_);
  if (start == std::string::npos) {
    if (format_ != ToolCallFormat::kHermes) content_only_ = true;
    std::string out = std::move(pending_);
    pending_.clear();
    sent_any_ = sent_any_ || !out.empty();
    return out;
  }
  if (format_ != ToolCallFormat::kHermes) {
    // Blanks only so far, or a call begins: hold everything.
    holding_ = trim(pending_).size() > 0;
    return "";
  }
  holding_ = std::string_view(pending_).substr(start).starts_with(kHermesOpen);
  std::string out = pending_.substr(0, start);
  pending_.erase(0, start);
  sent_any_ = sent_any_ || !out.empty();
  return out;
}

ParsedReply ToolCallStream::finish() {
  ParsedReply reply = parse_tool_calls(pending_, format_, tools_);
  pending_.clear();
  return reply;
}

}  // namespace enclave::serve
