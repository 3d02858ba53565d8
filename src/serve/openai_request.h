// Parsing and validating the bodies of POST /v1/completions and
// /v1/chat/completions (OpenAI API reference, "Create completion" and
// "Create chat completion"). Every field we honour is type- and range-
// checked and a bad one is a 400 naming it (RELIABILITY.md 28); OpenAI
// parameters we do not implement are refused when set to anything but the
// value that asks for nothing (n > 1, audio, store: true), and unknown fields
// are refused as OpenAI refuses them ("Unrecognized request argument
// supplied"), so a typo never silently falls back to a default.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "serve/json_grammar.h"
#include "serve/logits_processor.h"
#include "text/chat_template.h"

namespace enclave::serve {

enum class Endpoint { kCompletions, kChatCompletions };

// One function of `tools` ({"type": "function", "function": {...}}).
struct ToolFunction {
  std::string name;
  std::string description;
  nlohmann::json parameters;  // a JSON Schema object, or null (no arguments described)
  bool strict = false;
  // strict: the parameters compiled, so only calls whose arguments follow
  // them are returned as calls (a schema it cannot follow is a 400).
  std::shared_ptr<const JsonGrammar> strict_grammar;
};

// tool_choice: "none", "auto", "required" or {"type": "function", "function": {"name"}}.
enum class ToolChoice { kNone, kAuto, kRequired, kFunction };

struct CompletionRequest {
  Endpoint endpoint = Endpoint::kCompletions;
  std::string model;                  // "" = the default model
  std::string prompt;                 // completions
  std::vector<ChatMessage> messages;  // chat
  std::optional<int> max_tokens;      // none: the server's default
  double temperature = 1.0;
  double top_p = 1.0;
  std::vector<std::string> stop;
  std::optional<std::uint64_t> seed;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  // Logprobs of each output token, with this many alternatives (chat:
  // logprobs=true + top_logprobs 0..20; completions: logprobs 0..5).
  bool logprobs = false;
  int top_logprobs = 0;
  std::string user;
  PenaltyParams penalties;  // presence/frequency penalties, logit_bias
  // response_format json_object / json_schema: the grammar the output must
  // follow (compiled here, so a schema it cannot follow is a 400); null for text.
  std::shared_ptr<const JsonGrammar> response_grammar;
  std::vector<ToolFunction> tools;
  ToolChoice tool_choice = ToolChoice::kNone;  // kAuto by default when tools are given
  std::string tool_choice_name;                // kFunction
  bool parallel_tool_calls = true;
  // chat: the messages as the OpenAI API and chat templates take them
  // (role, content as a string or null, name, tool_calls with arguments as
  // JSON text, tool_call_id), for renderers that handle tools.
  nlohmann::json chat_messages = nlohmann::json::array();
};

// Hard limits of one request that do not depend on the prompt.
struct RequestLimits {
  int max_tokens = 4096;     // largest max_tokens accepted
  int max_stop = 4;          // stop strings
  int max_stop_bytes = 256;  // each
  int max_messages = 1024;
};

// Parses a request body (already parsed JSON). Throws ApiException(400)
// naming the field for a missing prompt/messages, a wrong type or a value
// out of range: max_tokens < 1 or above limits, temperature outside [0, 2],
// top_p outside (0, 1], n != 1, NaN, more than max_stop stop strings, an
// empty stop string, a role other than system/user/assistant; for any field
// the endpoint does not define, and for a defined one Enclave does not
// implement (code "unsupported_parameter").
CompletionRequest parse_completion_request(const nlohmann::json& body, Endpoint endpoint,
                                           const RequestLimits& limits);

// ApiException(400, param "logit_bias.ID") for a logit_bias id outside a
// vocabulary of n_vocab tokens.
void check_logit_bias(const CompletionRequest& request, std::size_t n_vocab);

// The request body text parsed as JSON (strict: duplicate keys and deep
// nesting refused); ApiException(400) for anything that is not a JSON object.
nlohmann::json parse_body(std::string_view body);

// The prompt text as the log and feedback export keep it: the prompt of a
// completion, or the messages as a JSON array of {role, content}.
std::string prompt_record(const CompletionRequest& request);

}  // namespace enclave::serve
