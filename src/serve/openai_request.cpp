#include "serve/openai_request.h"

#include <cmath>

#include "core/error.h"
#include "core/json.h"
#include "serve/api_error.h"

namespace enclave::serve {
namespace {

[[noreturn]] void reject(const std::string& param, const std::string& reason) {
  throw ApiException(bad_request(fmt::format("'{}': {}", param, reason), param));
}

const nlohmann::json* field(const nlohmann::json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

double number_in(const nlohmann::json& body, const char* key, double fallback, double lo, double hi,
                 bool lo_open = false) {
  const nlohmann::json* v = field(body, key);
  if (v == nullptr) return fallback;
  if (!v->is_number()) reject(key, "expected a number, got " + json_type_name(*v));
  const double x = v->get<double>();
  if (!std::isfinite(x) || x < lo || x > hi || (lo_open && x == lo)) {
    reject(key, fmt::format("{} is out of range {}{}, {}]", x, lo_open ? "(" : "[", lo, hi));
  }
  return x;
}

std::optional<std::int64_t> integer(const nlohmann::json& body, const char* key) {
  const nlohmann::json* v = field(body, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_integer()) return v->get<std::int64_t>();
  if (v->is_number_float()) {
    const double d = v->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9e15)
      return static_cast<std::int64_t>(d);
  }
  reject(key, "expected an integer, got " + (v->is_number() ? v->dump() : json_type_name(*v)));
}

bool boolean(const nlohmann::json& body, const char* key) {
  const nlohmann::json* v = field(body, key);
  if (v == nullptr) return false;
  if (!v->is_boolean()) reject(key, "expected a boolean, got " + json_type_name(*v));
  return v->get<bool>();
}

std::string string_field(const nlohmann::json& body, const char* key) {
  const nlohmann::json* v = field(body, key);
  if (v == nullptr) return "";
  if (!v->is_string()) reject(key, "expected a string, got " + json_type_name(*v));
  return v->get<std::string>();
}

// OpenAI content: a string, or an array of {"type": "text", "text": ...} parts.
std::string message_content(const nlohmann::json& content, const std::string& param) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) reject(param, "expected a string or an array of text parts");
  std::string text;
  for (std::size_t i = 0; i < content.size(); ++i) {
    const nlohmann::json& part = content[i];
    const std::string at = fmt::format("{}[{}]", param, i);
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
        !part["text"].is_string()) {
      reject(at, "only {\"type\": \"text\", \"text\": \"...\"} parts are supported");
    }
    text += part["text"].get<std::string>();
  }
  return text;
}

std::vector<ChatMessage> parse_messages(const nlohmann::json& body, const RequestLimits& limits) {
  const nlohmann::json* v = field(body, "messages");
  if (v == nullptr) reject("messages", "required");
  if (!v->is_array() || v->empty()) reject("messages", "expected a non-empty array");
  if (static_cast<int>(v->size()) > limits.max_messages) {
    reject("messages",
           fmt::format("{} messages, more than the limit of {}", v->size(), limits.max_messages));
  }
  std::vector<ChatMessage> messages;
  for (std::size_t i = 0; i < v->size(); ++i) {
    const nlohmann::json& m = (*v)[i];
    const std::string at = fmt::format("messages[{}]", i);
    if (!m.is_object()) reject(at, "expected an object");
    const nlohmann::json* role = field(m, "role");
    if (role == nullptr || !role->is_string()) reject(at + ".role", "expected a string");
    const std::string r = role->get<std::string>();
    if (r != "system" && r != "user" && r != "assistant" && r != "developer") {
      reject(at + ".role", fmt::format("'{}' is not supported (system, user, assistant)", r));
    }
    const nlohmann::json* content = field(m, "content");
    if (content == nullptr) reject(at + ".content", "required");
    messages.push_back(
        {r == "developer" ? "system" : r, message_content(*content, at + ".content")});
  }
  return messages;
}

std::string parse_prompt(const nlohmann::json& body) {
  const nlohmann::json* v = field(body, "prompt");
  if (v == nullptr) reject("prompt", "required");
  if (v->is_string()) return v->get<std::string>();
  // A batch of prompts would need n responses; one-element arrays are common.
  if (v->is_array() && v->size() == 1 && (*v)[0].is_string()) return (*v)[0].get<std::string>();
  reject("prompt", "expected a string (or an array holding one string)");
}

std::vector<std::string> parse_stop(const nlohmann::json& body, const RequestLimits& limits) {
  const nlohmann::json* v = field(body, "stop");
  if (v == nullptr) return {};
  std::vector<std::string> stop;
  if (v->is_string()) {
    stop.push_back(v->get<std::string>());
  } else if (v->is_array()) {
    for (const nlohmann::json& s : *v) {
      if (!s.is_string()) reject("stop", "expected a string or an array of strings");
      stop.push_back(s.get<std::string>());
    }
  } else {
    reject("stop", "expected a string or an array of strings");
  }
  if (static_cast<int>(stop.size()) > limits.max_stop) {
    reject("stop",
           fmt::format("{} stop strings, more than the limit of {}", stop.size(), limits.max_stop));
  }
  for (const std::string& s : stop) {
    if (s.empty()) reject("stop", "stop strings must not be empty");
    if (static_cast<int>(s.size()) > limits.max_stop_bytes) {
      reject("stop",
             fmt::format("a stop string of {} bytes exceeds {}", s.size(), limits.max_stop_bytes));
    }
  }
  return stop;
}

}  // namespace

nlohmann::json parse_body(std::string_view body) {
  nlohmann::json parsed;
  try {
    parsed = parse_json(body, "request body", JsonLimits{.max_depth = 32});
  } catch (const Error& e) {
    throw ApiException(bad_request(fmt::format("invalid JSON: {}", e.what())));
  }
  if (!parsed.is_object()) throw ApiException(bad_request("request body must be a JSON object"));
  return parsed;
}

CompletionRequest parse_completion_request(const nlohmann::json& body, Endpoint endpoint,
                                           const RequestLimits& limits) {
  CompletionRequest r;
  r.endpoint = endpoint;
  r.model = string_field(body, "model");
  if (endpoint == Endpoint::kChatCompletions) {
    r.messages = parse_messages(body, limits);
  } else {
    r.prompt = parse_prompt(body);
  }
  std::optional<std::int64_t> max_tokens = integer(body, "max_completion_tokens");
  if (!max_tokens) max_tokens = integer(body, "max_tokens");
  if (max_tokens) {
    if (*max_tokens < 1 || *max_tokens > limits.max_tokens) {
      reject("max_tokens",
             fmt::format("{} is out of range [1, {}]", *max_tokens, limits.max_tokens));
    }
    r.max_tokens = static_cast<int>(*max_tokens);
  }
  r.temperature = number_in(body, "temperature", 1.0, 0.0, 2.0);
  r.top_p = number_in(body, "top_p", 1.0, 0.0, 1.0, /*lo_open=*/true);
  number_in(body, "presence_penalty", 0.0, -2.0, 2.0);
  number_in(body, "frequency_penalty", 0.0, -2.0, 2.0);
  if (std::optional<std::int64_t> n = integer(body, "n"); n && *n != 1) {
    reject("n", fmt::format("{}: only n = 1 is supported", *n));
  }
  if (std::optional<std::int64_t> best_of = integer(body, "best_of"); best_of && *best_of != 1) {
    reject("best_of", "only best_of = 1 is supported");
  }
  if (field(body, "tools") != nullptr) reject("tools", "tool calls are not supported");
  if (boolean(body, "echo")) reject("echo", "echo is not supported");
  r.stop = parse_stop(body, limits);
  if (std::optional<std::int64_t> seed = integer(body, "seed"))
    r.seed = static_cast<std::uint64_t>(*seed);
  r.stream = boolean(body, "stream");
  if (const nlohmann::json* so = field(body, "stream_options")) {
    if (!so->is_object()) reject("stream_options", "expected an object");
    r.include_usage = boolean(*so, "include_usage");
  }
  if (endpoint == Endpoint::kChatCompletions) {
    r.logprobs = boolean(body, "logprobs");
    if (std::optional<std::int64_t> top = integer(body, "top_logprobs")) {
      if (*top < 0 || *top > 20)
        reject("top_logprobs", fmt::format("{} is out of range [0, 20]", *top));
      if (!r.logprobs) reject("top_logprobs", "needs logprobs: true");
      r.top_logprobs = static_cast<int>(*top);
    }
  } else if (std::optional<std::int64_t> lp = integer(body, "logprobs")) {
    if (*lp < 0 || *lp > 5) reject("logprobs", fmt::format("{} is out of range [0, 5]", *lp));
    r.logprobs = true;
    r.top_logprobs = static_cast<int>(*lp);
  }
  r.user = string_field(body, "user");
  return r;
}

std::string prompt_record(const CompletionRequest& request) {
  if (request.endpoint == Endpoint::kCompletions) return request.prompt;
  nlohmann::json messages = nlohmann::json::array();
  for (const ChatMessage& m : request.messages)
    messages.push_back({{"role", m.role}, {"content", m.content}});
  return messages.dump();
}

}  // namespace enclave::serve
