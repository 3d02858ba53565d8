#include "serve/openai_request.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <span>

#include "core/error.h"
#include "core/json.h"
#include "serve/api_error.h"

namespace enclave::serve {
namespace {

[[noreturn]] void reject(const std::string& param, const std::string& reason) {
  throw ApiException(bad_request(fmt::format("'{}': {}", param, reason), param));
}

// OpenAI answers an unknown field with 400 "Unrecognized request argument
// supplied"; a typo ("max_tokns") must not silently fall back to a default.
void reject_unknown(const nlohmann::json& object, std::span<const std::string_view> known,
                    const std::string& prefix) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
      const std::string param = prefix + it.key();
      throw ApiException(
          bad_request(fmt::format("Unrecognized request argument supplied: {}", param), param));
    }
  }
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

// Every field of the OpenAI reference for each endpoint; anything else is
// refused as unrecognised.
constexpr std::string_view kChatFields[] = {
    "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p",
    "presence_penalty", "frequency_penalty", "logit_bias", "n", "stop", "seed", "stream",
    "stream_options", "logprobs", "top_logprobs", "user", "safety_identifier", "prompt_cache_key",
    "response_format", "tools", "tool_choice", "parallel_tool_calls",
    // Known but unsupported (reject_unsupported says why).
    "audio", "modalities", "prediction", "web_search_options", "functions", "function_call",
    "reasoning_effort", "service_tier", "store", "metadata", "verbosity"};
constexpr std::string_view kCompletionFields[] = {"model",
                                                  "prompt",
                                                  "max_tokens",
                                                  "temperature",
                                                  "top_p",
                                                  "presence_penalty",
                                                  "frequency_penalty",
                                                  "logit_bias",
                                                  "n",
                                                  "best_of",
                                                  "echo",
                                                  "stop",
                                                  "seed",
                                                  "stream",
                                                  "stream_options",
                                                  "logprobs",
                                                  "suffix",
                                                  "user"};

// OpenAI parameters Enclave does not implement: a 400 naming the field
// unless it is null or the value that asks for nothing (store: false,
// modalities: ["text"], service_tier: "auto"), which clients send by default.
void reject_unsupported(const nlohmann::json& body) {
  auto unsupported = [](const char* key, const std::string& why) {
    throw ApiException(bad_request(
        fmt::format("Unsupported parameter: '{}' is not supported by this server: {}", key, why),
        key, "unsupported_parameter"));
  };
  for (const char* key :
       {"audio", "prediction", "web_search_options", "reasoning_effort", "metadata", "verbosity"}) {
    if (field(body, key) != nullptr) unsupported(key, "this model server has no such feature");
  }
  if (field(body, "functions") != nullptr || field(body, "function_call") != nullptr) {
    unsupported(field(body, "functions") != nullptr ? "functions" : "function_call",
                "the deprecated function-calling fields are not accepted; use tools and "
                "tool_choice");
  }
  if (const nlohmann::json* m = field(body, "modalities");
      m != nullptr && *m != nlohmann::json::array({"text"})) {
    unsupported("modalities", "only [\"text\"] output is produced");
  }
  if (const nlohmann::json* s = field(body, "store"); s != nullptr && *s != false) {
    unsupported("store", "completions are not stored for later retrieval");
  }
  if (const nlohmann::json* t = field(body, "service_tier");
      t != nullptr && *t != "auto" && *t != "default") {
    unsupported("service_tier", "there is one tier");
  }
}

// logit_bias: {"token id": bias in [-100, 100]}. Ids are checked against the
// model's vocabulary once the model is known (check_logit_bias).
std::vector<std::pair<TokenId, float>> parse_logit_bias(const nlohmann::json& body) {
  const nlohmann::json* v = field(body, "logit_bias");
  if (v == nullptr) return {};
  if (!v->is_object()) reject("logit_bias", "expected an object mapping token ids to biases");
  std::vector<std::pair<TokenId, float>> bias;
  for (auto it = v->begin(); it != v->end(); ++it) {
    const std::string& key = it.key();
    const std::string at = "logit_bias." + key;
    if (key.empty() || key.size() > 10 ||
        !std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      reject(at, fmt::format("'{}' is not a token id", key));
    }
    const long long id = std::stoll(key);
    if (id > std::numeric_limits<TokenId>::max()) reject(at, "token id out of range");
    if (!it->is_number()) reject(at, "expected a number, got " + json_type_name(*it));
    const double b = it->get<double>();
    if (!std::isfinite(b) || b < -100 || b > 100)
      reject(at, fmt::format("{} is out of range [-100, 100]", b));
    bias.emplace_back(static_cast<TokenId>(id), static_cast<float>(b));
  }
  return bias;
}

// A function name as OpenAI allows it: [a-zA-Z0-9_-]{1,64}.
bool valid_function_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

// An assistant message's tool_calls, normalised to OpenAI's shape.
nlohmann::json parse_message_tool_calls(const nlohmann::json& calls, const std::string& at) {
  if (!calls.is_array()) reject(at, "expected an array of tool calls");
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t j = 0; j < calls.size(); ++j) {
    const nlohmann::json& call = calls[j];
    const std::string here = fmt::format("{}[{}]", at, j);
    if (!call.is_object()) reject(here, "expected an object");
    constexpr std::string_view kCallFields[] = {"id", "type", "function"};
    reject_unknown(call, kCallFields, here + ".");
    const std::string id = string_field(call, "id");
    if (id.empty()) reject(here + ".id", "required");
    if (call.value("type", "function") != "function")
      reject(here + ".type", "only \"function\" tool calls exist");
    const nlohmann::json* fn = field(call, "function");
    if (fn == nullptr || !fn->is_object()) reject(here + ".function", "expected an object");
    constexpr std::string_view kFunctionFields[] = {"name", "arguments"};
    reject_unknown(*fn, kFunctionFields, here + ".function.");
    const std::string name = string_field(*fn, "name");
    if (name.empty()) reject(here + ".function.name", "required");
    const nlohmann::json* args = field(*fn, "arguments");
    if (args == nullptr || !args->is_string())
      reject(here + ".function.arguments", "expected the arguments as a JSON string");
    out.push_back({{"id", id},
                   {"type", "function"},
                   {"function", {{"name", name}, {"arguments", args->get<std::string>()}}}});
  }
  return out;
}

void parse_messages(const nlohmann::json& body, const RequestLimits& limits, CompletionRequest& r) {
  const nlohmann::json* v = field(body, "messages");
  if (v == nullptr) reject("messages", "required");
  if (!v->is_array() || v->empty()) reject("messages", "expected a non-empty array");
  if (static_cast<int>(v->size()) > limits.max_messages) {
    reject("messages",
           fmt::format("{} messages, more than the limit of {}", v->size(), limits.max_messages));
  }
  for (std::size_t i = 0; i < v->size(); ++i) {
    const nlohmann::json& m = (*v)[i];
    const std::string at = fmt::format("messages[{}]", i);
    if (!m.is_object()) reject(at, "expected an object");
    constexpr std::string_view kMessageFields[] = {"role",       "content",      "name",
                                                   "tool_calls", "tool_call_id", "refusal"};
    reject_unknown(m, kMessageFields, at + ".");
    const nlohmann::json* role = field(m, "role");
    if (role == nullptr || !role->is_string()) reject(at + ".role", "expected a string");
    std::string r_name = role->get<std::string>();
    if (r_name != "system" && r_name != "user" && r_name != "assistant" && r_name != "developer" &&
        r_name != "tool") {
      reject(
          at + ".role",
          fmt::format("'{}' is not supported (system, developer, user, assistant, tool)", r_name));
    }
    if (r_name == "developer") r_name = "system";
    nlohmann::json out = {{"role", r_name}};
    const nlohmann::json* content = field(m, "content");
    const nlohmann::json* calls = field(m, "tool_calls");
    if (calls != nullptr && r_name != "assistant")
      reject(at + ".tool_calls", "only assistant messages carry tool calls");
    if (field(m, "tool_call_id") != nullptr && r_name != "tool")
      reject(at + ".tool_call_id", "only tool messages answer a tool call");
    if (content == nullptr && !(r_name == "assistant" && calls != nullptr))
      reject(at + ".content", "required");
    const std::string text = content == nullptr ? "" : message_content(*content, at + ".content");
    out["content"] = content == nullptr ? nlohmann::json(nullptr) : nlohmann::json(text);
    if (const nlohmann::json* name = field(m, "name")) {
      if (!name->is_string()) reject(at + ".name", "expected a string");
      out["name"] = *name;
    }
    string_field(m, "refusal");
    if (calls != nullptr) out["tool_calls"] = parse_message_tool_calls(*calls, at + ".tool_calls");
    if (r_name == "tool") {
      const std::string id = string_field(m, "tool_call_id");
      if (id.empty()) reject(at + ".tool_call_id", "required");
      out["tool_call_id"] = id;
    }
    r.messages.push_back({r_name, text});
    r.chat_messages.push_back(std::move(out));
  }
}

std::shared_ptr<const JsonGrammar> compile_schema(const nlohmann::json& schema,
                                                  const std::string& param) {
  try {
    return JsonGrammar::from_schema(schema);
  } catch (const SchemaError& e) {
    const std::string at = e.path().empty() ? param : param + "." + e.path();
    throw ApiException(bad_request(fmt::format("'{}': {}", at, e.what()), at));
  }
}

void parse_tools(const nlohmann::json& body, CompletionRequest& r) {
  const nlohmann::json* tools = field(body, "tools");
  if (tools != nullptr) {
    if (!tools->is_array()) reject("tools", "expected an array of tools");
    if (tools->size() > 128) reject("tools", "more than 128 tools");
    for (std::size_t i = 0; i < tools->size(); ++i) {
      const nlohmann::json& t = (*tools)[i];
      const std::string at = fmt::format("tools[{}]", i);
      if (!t.is_object()) reject(at, "expected an object");
      constexpr std::string_view kToolFields[] = {"type", "function"};
      reject_unknown(t, kToolFields, at + ".");
      if (string_field(t, "type") != "function")
        reject(at + ".type", "only \"function\" tools are supported");
      const nlohmann::json* fn = field(t, "function");
      if (fn == nullptr || !fn->is_object()) reject(at + ".function", "expected an object");
      constexpr std::string_view kFunctionFields[] = {"name", "description", "parameters",
                                                      "strict"};
      reject_unknown(*fn, kFunctionFields, at + ".function.");
      ToolFunction f;
      f.name = string_field(*fn, "name");
      if (!valid_function_name(f.name)) {
        reject(at + ".function.name",
               fmt::format("'{}' is not a function name (1-64 of a-z, A-Z, 0-9, _ and -)", f.name));
      }
      for (const ToolFunction& other : r.tools) {
        if (other.name == f.name)
          reject(at + ".function.name", fmt::format("'{}' is defined twice", f.name));
      }
      f.description = string_field(*fn, "description");
      if (const nlohmann::json* params = field(*fn, "parameters")) {
        if (!params->is_object())
          reject(at + ".function.parameters", "expected a JSON Schema object");
        f.parameters = *params;
      }
      f.strict = boolean(*fn, "strict");
      if (f.strict) {
        f.strict_grammar = compile_schema(
            f.parameters.is_null() ? nlohmann::json{{"type", "object"}} : f.parameters,
            at + ".function.parameters");
      }
      r.tools.push_back(std::move(f));
    }
  }
  r.parallel_tool_calls =
      field(body, "parallel_tool_calls") == nullptr ? true : boolean(body, "parallel_tool_calls");
  r.tool_choice = r.tools.empty() ? ToolChoice::kNone : ToolChoice::kAuto;
  const nlohmann::json* choice = field(body, "tool_choice");
  if (choice == nullptr) return;
  if (choice->is_string()) {
    const std::string c = choice->get<std::string>();
    if (c == "none") {
      r.tool_choice = ToolChoice::kNone;
      return;
    }
    if (c != "auto" && c != "required")
      reject("tool_choice", fmt::format("'{}' is not none, auto, required or a function", c));
    r.tool_choice = c == "auto" ? ToolChoice::kAuto : ToolChoice::kRequired;
  } else if (choice->is_object()) {
    constexpr std::string_view kChoiceFields[] = {"type", "function"};
    reject_unknown(*choice, kChoiceFields, "tool_choice.");
    if (string_field(*choice, "type") != "function")
      reject("tool_choice.type", "expected \"function\"");
    const nlohmann::json* fn = field(*choice, "function");
    if (fn == nullptr || !fn->is_object()) reject("tool_choice.function", "expected an object");
    constexpr std::string_view kNameField[] = {"name"};
    reject_unknown(*fn, kNameField, "tool_choice.function.");
    r.tool_choice = ToolChoice::kFunction;
    r.tool_choice_name = string_field(*fn, "name");
    if (std::none_of(r.tools.begin(), r.tools.end(),
                     [&](const ToolFunction& f) { return f.name == r.tool_choice_name; })) {
      reject("tool_choice.function.name",
             fmt::format("'{}' is not one of the tools", r.tool_choice_name));
    }
  } else {
    reject("tool_choice", "expected a string or an object");
  }
  if (r.tools.empty()) reject("tool_choice", "only allowed when tools are given");
}

std::shared_ptr<const JsonGrammar> parse_response_format(const nlohmann::json& body) {
  const nlohmann::json* f = field(body, "response_format");
  if (f == nullptr) return nullptr;
  if (!f->is_object()) reject("response_format", "expected an object");
  constexpr std::string_view kFormatFields[] = {"type", "json_schema"};
  reject_unknown(*f, kFormatFields, "response_format.");
  const std::string type = string_field(*f, "type");
  if (type == "text") return nullptr;
  if (type == "json_object") return JsonGrammar::any_object();
  if (type != "json_schema") {
    reject("response_format.type",
           fmt::format("'{}' is not text, json_object or json_schema", type));
  }
  const nlohmann::json* js = field(*f, "json_schema");
  if (js == nullptr || !js->is_object())
    reject("response_format.json_schema", "expected an object");
  constexpr std::string_view kSchemaFields[] = {"name", "description", "schema", "strict"};
  reject_unknown(*js, kSchemaFields, "response_format.json_schema.");
  if (!valid_function_name(string_field(*js, "name"))) {
    reject("response_format.json_schema.name", "required: 1-64 of a-z, A-Z, 0-9, _ and -");
  }
  string_field(*js, "description");
  boolean(*js, "strict");  // the grammar keeps to the schema either way
  const nlohmann::json* schema = field(*js, "schema");
  return compile_schema(schema == nullptr ? nlohmann::json(true) : *schema,
                        "response_format.json_schema.schema");
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
  const bool chat = endpoint == Endpoint::kChatCompletions;
  if (chat) {
    reject_unknown(body, kChatFields, "");
  } else {
    reject_unknown(body, kCompletionFields, "");
  }
  reject_unsupported(body);
  r.model = string_field(body, "model");
  if (chat) {
    parse_messages(body, limits, r);
  } else {
    r.prompt = parse_prompt(body);
  }
  std::optional<std::int64_t> max_tokens = integer(body, "max_completion_tokens");
  const char* max_tokens_key = "max_completion_tokens";
  if (!max_tokens) {
    max_tokens = integer(body, "max_tokens");
    max_tokens_key = "max_tokens";
  }
  if (max_tokens) {
    if (*max_tokens < 1 || *max_tokens > limits.max_tokens) {
      reject(max_tokens_key,
             fmt::format("{} is out of range [1, {}]", *max_tokens, limits.max_tokens));
    }
    r.max_tokens = static_cast<int>(*max_tokens);
  }
  r.temperature = number_in(body, "temperature", 1.0, 0.0, 2.0);
  r.top_p = number_in(body, "top_p", 1.0, 0.0, 1.0, /*lo_open=*/true);
  r.penalties.presence = number_in(body, "presence_penalty", 0.0, -2.0, 2.0);
  r.penalties.frequency = number_in(body, "frequency_penalty", 0.0, -2.0, 2.0);
  r.penalties.logit_bias = parse_logit_bias(body);
  if (std::optional<std::int64_t> n = integer(body, "n"); n && *n != 1) {
    reject("n", fmt::format("{}: only n = 1 is supported", *n));
  }
  if (std::optional<std::int64_t> best_of = integer(body, "best_of"); best_of && *best_of != 1) {
    reject("best_of", "only best_of = 1 is supported");
  }
  if (boolean(body, "echo")) reject("echo", "echo is not supported");
  if (!string_field(body, "suffix").empty()) reject("suffix", "suffix is not supported");
  r.stop = parse_stop(body, limits);
  if (std::optional<std::int64_t> seed = integer(body, "seed"))
    r.seed = static_cast<std::uint64_t>(*seed);
  r.stream = boolean(body, "stream");
  if (const nlohmann::json* so = field(body, "stream_options")) {
    if (!so->is_object()) reject("stream_options", "expected an object");
    constexpr std::string_view kStreamOptions[] = {"include_usage", "include_obfuscation"};
    reject_unknown(*so, kStreamOptions, "stream_options.");
    if (!r.stream) reject("stream_options", "only allowed with stream: true");
    r.include_usage = boolean(*so, "include_usage");
    // Obfuscation is random padding in each chunk against length side
    // channels on OpenAI's network; chunks here carry none (as with false),
    // which clients read the same either way.
    boolean(*so, "include_obfuscation");
  }
  if (chat) {
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
  if (chat) {
    parse_tools(body, r);
    r.response_grammar = parse_response_format(body);
    if (r.response_grammar &&
        (r.tool_choice == ToolChoice::kRequired || r.tool_choice == ToolChoice::kFunction)) {
      reject("response_format",
             "a JSON response format cannot be combined with a tool_choice that forces a call");
    }
  }
  r.user = string_field(body, "user");
  // End-user and cache identifiers: type-checked like user. They are hints
  // for OpenAI's abuse tracking and prompt cache, which change no output.
  string_field(body, "safety_identifier");
  string_field(body, "prompt_cache_key");
  return r;
}

void check_logit_bias(const CompletionRequest& request, std::size_t n_vocab) {
  for (const auto& [id, bias] : request.penalties.logit_bias) {
    if (static_cast<std::size_t>(id) >= n_vocab) {
      reject(
          fmt::format("logit_bias.{}", id),
          fmt::format("token id {} is outside the model's vocabulary of {} tokens", id, n_vocab));
    }
  }
}

std::string prompt_record(const CompletionRequest& request) {
  if (request.endpoint == Endpoint::kCompletions) return request.prompt;
  return request.chat_messages.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace enclave::serve
