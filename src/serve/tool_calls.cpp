#include "serve/tool_calls.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <optional>

#include "core/error.h"

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

constexpr std::size_t npos = std::string_view::npos;

bool blank(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// One past the end of the JSON value at text[i]; npos when the text ends
// first. Only the extent is found (the value is checked by a parser).
std::size_t value_end(std::string_view t, std::size_t i) {
  if (i >= t.size()) return npos;
  if (t[i] == '"') {
    for (++i; i < t.size(); ++i) {
      if (t[i] == '\\') {
        ++i;
      } else if (t[i] == '"') {
        return i + 1;
      }
    }
    return npos;
  }
  if (t[i] == '{' || t[i] == '[') {
    int depth = 0;
    bool in_string = false;
    for (; i < t.size(); ++i) {
      const char c = t[i];
      if (in_string) {
        if (c == '\\') {
          ++i;
        } else if (c == '"') {
          in_string = false;
        }
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return i + 1;
      }
    }
    return npos;
  }
  std::size_t j = i;
  while (j < t.size() && !blank(t[j]) && t[j] != ',' && t[j] != '}' && t[j] != ']') ++j;
  return j == t.size() ? npos : j;
}

// Where the value of key begins in the object text obj (starting at its
// "{"), scanning its members in order; npos if it is not there (yet).
std::size_t member_value(std::string_view obj, std::string_view key) {
  std::size_t i = 1;
  const auto skip = [&] {
    while (i < obj.size() && blank(obj[i])) ++i;
  };
  while (true) {
    skip();
    if (i >= obj.size() || obj[i] != '"') return npos;
    const std::size_t key_end = value_end(obj, i);
    if (key_end == npos) return npos;
    std::optional<ordered_json> name = parse_json(obj.substr(i, key_end - i));
    i = key_end;
    skip();
    if (i >= obj.size() || obj[i] != ':') return npos;
    ++i;
    skip();
    if (name && name->is_string() && name->get<std::string>() == key) return i;
    i = value_end(obj, i);
    if (i == npos) return npos;
    skip();
    if (i >= obj.size() || obj[i] != ',') return npos;
    ++i;
  }
}

// One call object: {"name", "arguments"|"parameters": object or JSON text}.
// raw is its text: the arguments are returned as the model wrote them, as
// OpenAI returns them.
std::optional<ToolCall> call_of(std::string_view raw, const ordered_json& j,
                                const std::vector<ToolFunction>& tools) {
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
    const std::size_t begin = member_value(raw, key);
    const std::size_t end = begin == npos ? npos : value_end(raw, begin);
    call.arguments = end != npos
                         ? std::string(raw.substr(begin, end - begin))
                         : j[key].dump(-1, ' ', false, ordered_json::error_handler_t::replace);
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
    const nlohmann::json args = nlohmann::json::parse(call.arguments, nullptr, false);
    if (args.is_discarded() || !m.advance(args.dump()) || !m.complete()) return std::nullopt;
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
    const std::string_view raw = trim(text.substr(body, end - body));
    std::optional<ordered_json> j = parse_json(raw);
    std::optional<ToolCall> call = j ? call_of(raw, *j, tools) : std::nullopt;
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
    std::optional<ToolCall> call = call_of(text, *j, tools);
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
      const std::string_view raw = trim(text.substr(at, end - at));
      std::optional<ordered_json> j = parse_json(raw);
      if (j) {
        std::optional<ToolCall> call = call_of(raw, *j, tools);
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
  if (j->is_object()) {
    std::optional<ToolCall> call = call_of(text, *j, tools);
    if (!call) return {};
    return {std::move(*call)};
  }
  std::vector<ToolCall> calls;
  std::size_t at = 1;  // after "["
  for (const ordered_json& item : *j) {
    while (at < text.size() && (blank(text[at]) || text[at] == ',')) ++at;
    const std::size_t end = value_end(text, at);
    if (end == npos) return {};
    std::optional<ToolCall> call = call_of(text.substr(at, end - at), item, tools);
    if (!call) return {};
    calls.push_back(std::move(*call));
    at = end;
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

ToolCallFormat tool_call_format(const ChatTemplate& tmpl) {
  auto has = [&](std::string_view marker) {
    return tmpl.source.find(marker) != std::string::npos ||
           tmpl.tool_use_source.find(marker) != std::string::npos;
  };
  if (has("[TOOL_CALLS]")) return ToolCallFormat::kMistral;
  if (has("<tool_call>")) return ToolCallFormat::kHermes;
  if (has("<|python_tag|>") || has("<|start_header_id|>")) return ToolCallFormat::kLlamaJson;
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
                                                     const std::string& only,
                                                     bool strict_schemas_only) {
  ordered_json alternatives = ordered_json::array();
  const char* args_key = format == ToolCallFormat::kLlamaJson ? "parameters" : "arguments";
  for (std::size_t i = 0; i < tools.size(); ++i) {
    const ToolFunction& f = tools[i];
    if (!only.empty() && f.name != only) continue;
    ordered_json params = f.parameters.is_null() || (strict_schemas_only && !f.strict)
                              ? ordered_json{{"type", "object"}}
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

LazyToolCallConstraint::LazyToolCallConstraint(ToolCallFormat format,
                                               std::shared_ptr<const JsonGrammar> call,
                                               std::shared_ptr<const VocabTrie> trie,
                                               std::vector<TokenId> stop_ids)
    : format_(format),
      grammar_(std::move(call)),
      trie_(std::move(trie)),
      stop_ids_(std::move(stop_ids)),
      call_(grammar_),
      mode_(format == ToolCallFormat::kHermes ? Mode::kProse : Mode::kUndecided) {
  const char trigger = format == ToolCallFormat::kMistral ? '[' : '{';
  for (std::size_t id = 0; id < trie_->size(); ++id) {
    const std::string& b = trie_->bytes(static_cast<TokenId>(id));
    const std::size_t first = b.find_first_not_of(" \n\r\t");
    kind_.push_back(b.empty()                          ? kOther
                    : first == std::string::npos       ? kBlank
                    : b[first] == trigger              ? kTrigger
                    : b.find('<') != std::string::npos ? kHasAngle
                                                       : kOther);
  }
}

bool LazyToolCallConstraint::is_stop(TokenId token) const {
  return std::find(stop_ids_.begin(), stop_ids_.end(), token) != stop_ids_.end();
}

// Whether the token, appended to the prose so far, either contains no
// "<tool_call>" or starts a call the grammar accepts from there on.
bool LazyToolCallConstraint::prose_allows(const std::string& bytes) const {
  const std::string text = tail_ + bytes;
  const std::size_t at = text.find(kHermesOpen);
  if (at == std::string::npos) return true;
  JsonMatcher m(grammar_);
  return m.advance(std::string_view(text).substr(at));
}

void LazyToolCallConstraint::mask(std::span<float> logits) {
  const float kRefused = -std::numeric_limits<float>::infinity();
  const auto in_vocab = [&](std::size_t id) { return id < kind_.size(); };
  if (mode_ == Mode::kCall) {
    allowed_.assign(logits.size(), 0);
    trie_->allowed(call_, allowed_);
    const bool complete = call_.complete();
    for (TokenId id : stop_ids_) {
      if (static_cast<std::size_t>(id) < allowed_.size())
        allowed_[static_cast<std::size_t>(id)] = complete ? 1 : 0;
    }
  } else if (mode_ == Mode::kUndecided) {
    // Prose may begin with anything but the call's first character; a
    // token that begins a call must begin one the grammar accepts.
    allowed_.assign(logits.size(), 0);
    if (!call_.dead()) trie_->allowed(call_, allowed_);
    for (std::size_t id = 0; id < logits.size(); ++id) {
      if (!in_vocab(id) || kind_[id] != kTrigger) allowed_[id] = 1;
    }
  } else {
    allowed_.assign(logits.size(), 1);
    if (format_ == ToolCallFormat::kHermes) {
      // Only tokens with a '<', or any token while the prose ends in part
      // of the marker, can complete one.
      const bool partial = call_start(tail_, ToolCallFormat::kHermes, false) != std::string::npos;
      for (std::size_t id = 0; id < logits.size() && id < kind_.size(); ++id) {
        if ((partial || kind_[id] == kHasAngle) &&
            !prose_allows(trie_->bytes(static_cast<TokenId>(id)))) {
          allowed_[id] = 0;
        }
      }
    }
  }
  bool any = false;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    if (allowed_[i]) {
      any = true;
    } else {
      logits[i] = kRefused;
    }
  }
  if (!any) fail_input("constrained decoding: no token of the vocabulary can continue the output");
}

void LazyToolCallConstraint::accept(TokenId token) {
  if (is_stop(token)) return;
  const std::string& bytes = trie_->bytes(token);
  switch (mode_) {
    case Mode::kCall:
      if (!call_.advance(bytes))
        fail_input("constrained decoding: token {} does not continue the tool call", token);
      if (call_.complete() && format_ == ToolCallFormat::kHermes) {
        // Prose, or another call, may follow a Hermes call.
        mode_ = Mode::kProse;
        tail_.clear();
      }
      return;
    case Mode::kUndecided: {
      const std::size_t id = static_cast<std::size_t>(token);
      const int kind = id < kind_.size() ? kind_[id] : kOther;
      if (kind == kBlank) {
        if (!call_.dead() && !call_.advance(bytes)) call_ = JsonMatcher();  // too many blanks
      } else if (kind == kTrigger) {
        if (!call_.advance(bytes))
          fail_input("constrained decoding: token {} does not begin a tool call", token);
        mode_ = Mode::kCall;
      } else {
        mode_ = Mode::kProse;  // a Llama or Mistral reply is a call only from its start
      }
      return;
    }
    case Mode::kProse: {
      if (format_ != ToolCallFormat::kHermes) return;
      const std::string text = tail_ + bytes;
      const std::size_t at = text.find(kHermesOpen);
      if (at == std::string::npos) {
        tail_ = text.substr(text.size() - std::min(text.size(), kHermesOpen.size() - 1));
        return;
      }
      call_ = JsonMatcher(grammar_);
      if (!call_.advance(std::string_view(text).substr(at)))
        fail_input("constrained decoding: token {} does not begin a tool call", token);
      mode_ = Mode::kCall;
      return;
    }
  }
}

void ToolCallStream::stream_forced() {
  // The call object: after "<tool_call>" (Hermes), "[" (Mistral), or first.
  std::size_t from = 0;
  if (format_ == ToolCallFormat::kHermes) {
    from = pending_.find(kHermesOpen);
    if (from == std::string::npos) return;
  }
  const std::size_t open = pending_.find('{', from);
  if (open == std::string::npos) return;
  const std::string_view obj = std::string_view(pending_).substr(open);
  if (!header_sent_) {
    const std::size_t name_at = member_value(obj, "name");
    const std::size_t name_end = name_at == npos ? npos : value_end(obj, name_at);
    if (name_end == npos) return;
    std::optional<ordered_json> name = parse_json(obj.substr(name_at, name_end - name_at));
    if (!name || !name->is_string()) return;
    deltas_.push_back({true, name->get<std::string>(), ""});
    header_sent_ = true;
  }
  const std::size_t args_at =
      member_value(obj, format_ == ToolCallFormat::kLlamaJson ? "parameters" : "arguments");
  if (args_at == npos) return;
  const std::size_t args_end = value_end(obj, args_at);
  const std::size_t upto = args_end == npos ? obj.size() : args_end;
  if (upto > args_at + arguments_sent_) {
    deltas_.push_back(
        {false, "",
         std::string(obj.substr(args_at + arguments_sent_, upto - args_at - arguments_sent_))});
    arguments_sent_ = upto - args_at;
  }
}

std::string ToolCallStream::push(std::string_view text) {
  pending_ += text;
  if (forced_) {
    stream_forced();
    return "";
  }
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
