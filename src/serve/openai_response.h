// The response bodies of the OpenAI API: chat.completion, text_completion,
// their streaming chunks (Server-Sent Events), logprobs in each endpoint's
// shape, usage, and the model list. Only shapes here; no state.
// Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "serve/openai_request.h"
#include "serve/scheduler.h"
#include "serve/tool_calls.h"

namespace enclave::serve {

struct ResponseHead {
  std::string id;            // "chatcmpl-..." / "cmpl-..."
  std::int64_t created = 0;  // unix seconds
  std::string model;
  Endpoint endpoint = Endpoint::kCompletions;
};

nlohmann::json usage_json(int prompt_tokens, int completion_tokens);

// "stop", "length" or, for a reply that ended in tool calls, "tool_calls",
// as OpenAI reports them (cancelled/timeout/error never reach a client as a
// finish reason).
std::string_view openai_finish_reason(FinishReason reason, bool tool_calls = false);

// A whole (non-streamed) response. logprobs: one per output token, or
// empty with want_logprobs false. With calls (chat only), the message
// carries tool_calls and content is null when text is empty.
nlohmann::json completion_response(const ResponseHead& head, const std::string& text,
                                   FinishReason reason, bool want_logprobs,
                                   const std::vector<TokenLogprob>& logprobs, int prompt_tokens,
                                   int completion_tokens, const std::vector<ToolCall>& calls = {});

// The streamed chunks of tool calls, as OpenAI streams them: per call, one
// delta with its index, id, type and name (arguments ""), then one with
// the arguments.
std::vector<nlohmann::json> tool_call_chunks(const ResponseHead& head,
                                             const std::vector<ToolCall>& calls);
// The two kinds of those chunks: a call's start (index, id, type, name,
// arguments ""), and more of its arguments.
nlohmann::json tool_call_start_chunk(const ResponseHead& head, std::size_t index,
                                     const std::string& id, const std::string& name);
nlohmann::json tool_call_arguments_chunk(const ResponseHead& head, std::size_t index,
                                         const std::string& arguments);

// One streamed chunk carrying text (and its tokens' logprobs); the first
// chat chunk carries the role. finish: nullptr until the last chunk.
nlohmann::json stream_chunk(const ResponseHead& head, const std::string& text, bool first,
                            bool want_logprobs, const std::vector<TokenLogprob>& logprobs,
                            const char* finish);
// The extra last chunk of stream_options.include_usage: no choices, usage.
nlohmann::json stream_usage_chunk(const ResponseHead& head, int prompt_tokens,
                                  int completion_tokens);

// "data: <json>\n\n".
std::string sse_event(const nlohmann::json& payload);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

}  // namespace enclave::serve
