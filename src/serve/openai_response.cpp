#include "serve/openai_response.h"

namespace enclave::serve {
namespace {

nlohmann::json byte_list(const std::string& s) {
  nlohmann::json bytes = nlohmann::json::array();
  for (unsigned char c : s) bytes.push_back(static_cast<int>(c));
  return bytes;
}

// Token texts may be partial UTF-8 (a byte token); JSON needs valid text.
std::string safe_text(const std::string& s) {
  std::string quoted =
      nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return nlohmann::json::parse(quoted).get<std::string>();
}

nlohmann::json chat_logprobs(const std::vector<TokenLogprob>& logprobs) {
  nlohmann::json content = nlohmann::json::array();
  for (const TokenLogprob& lp : logprobs) {
    nlohmann::json top = nlohmann::json::array();
    for (const auto& [token, logprob] : lp.top) {
      top.push_back(
          {{"token", safe_text(token)}, {"logprob", logprob}, {"bytes", byte_list(token)}});
    }
    content.push_back({{"token", safe_text(lp.token)},
                       {"logprob", lp.logprob},
                       {"bytes", byte_list(lp.token)},
                       {"top_logprobs", top}});
  }
  return {{"content", content}};
}

nlohmann::json completion_logprobs(const std::vector<TokenLogprob>& logprobs,
                                   std::size_t text_offset) {
  nlohmann::json tokens = nlohmann::json::array();
  nlohmann::json token_logprobs = nlohmann::json::array();
  nlohmann::json top_logprobs = nlohmann::json::array();
  nlohmann::json offsets = nlohmann::json::array();
  std::size_t offset = text_offset;
  for (const TokenLogprob& lp : logprobs) {
    tokens.push_back(safe_text(lp.token));
    token_logprobs.push_back(lp.logprob);
    nlohmann::json top = nlohmann::json::object();
    for (const auto& [token, logprob] : lp.top) top[safe_text(token)] = logprob;
    top_logprobs.push_back(top);
    offsets.push_back(offset);
    offset += lp.token.size();
  }
  return {{"tokens", tokens},
          {"token_logprobs", token_logprobs},
          {"top_logprobs", top_logprobs},
          {"text_offset", offsets}};
}

nlohmann::json logprobs_for(Endpoint endpoint, bool want,
                            const std::vector<TokenLogprob>& logprobs) {
  if (!want) return nullptr;
  return endpoint == Endpoint::kChatCompletions ? chat_logprobs(logprobs)
                                                : completion_logprobs(logprobs, 0);
}

}  // namespace

nlohmann::json usage_json(int prompt_tokens, int completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

std::string_view openai_finish_reason(FinishReason reason, bool tool_calls) {
  if (reason != FinishReason::kStop) return "length";
  return tool_calls ? "tool_calls" : "stop";
}

nlohmann::json completion_response(const ResponseHead& head, const std::string& text,
                                   FinishReason reason, bool want_logprobs,
                                   const std::vector<TokenLogprob>& logprobs, int prompt_tokens,
                                   int completion_tokens, const std::vector<ToolCall>& calls) {
  nlohmann::json choice = {{"index", 0},
                           {"finish_reason", openai_finish_reason(reason, !calls.empty())},
                           {"logprobs", logprobs_for(head.endpoint, want_logprobs, logprobs)}};
  const bool chat = head.endpoint == Endpoint::kChatCompletions;
  if (chat) {
    choice["message"] = {{"role", "assistant"}, {"content", text}};
    if (!calls.empty()) {
      if (text.empty()) choice["message"]["content"] = nullptr;
      nlohmann::json list = nlohmann::json::array();
      for (const ToolCall& c : calls) {
        list.push_back({{"id", c.id},
                        {"type", "function"},
                        {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
      }
      choice["message"]["tool_calls"] = std::move(list);
    }
  } else {
    choice["text"] = text;
  }
  return {{"id", head.id},
          {"object", chat ? "chat.completion" : "text_completion"},
          {"created", head.created},
          {"model", head.model},
          {"choices", nlohmann::json::array({choice})},
          {"usage", usage_json(prompt_tokens, completion_tokens)}};
}

nlohmann::json stream_chunk(const ResponseHead& head, const std::string& text, bool first,
                            bool want_logprobs, const std::vector<TokenLogprob>& logprobs,
                            const char* finish) {
  const bool chat = head.endpoint == Endpoint::kChatCompletions;
  nlohmann::json choice = {
      {"index", 0},
      {"logprobs", logprobs_for(head.endpoint, want_logprobs && !logprobs.empty(), logprobs)},
      {"finish_reason", finish == nullptr ? nlohmann::json(nullptr) : nlohmann::json(finish)}};
  if (chat) {
    nlohmann::json delta = nlohmann::json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || (first && finish == nullptr)) delta["content"] = text;
    choice["delta"] = delta;
  } else {
    choice["text"] = text;
  }
  return {{"id", head.id},
          {"object", chat ? "chat.completion.chunk" : "text_completion"},
          {"created", head.created},
          {"model", head.model},
          {"choices", nlohmann::json::array({choice})}};
}

namespace {

nlohmann::json tool_call_chunk(const ResponseHead& head, nlohmann::json call) {
  nlohmann::json choice = {{"index", 0},
                           {"delta", {{"tool_calls", nlohmann::json::array({std::move(call)})}}},
                           {"logprobs", nullptr},
                           {"finish_reason", nullptr}};
  return {{"id", head.id},
          {"object", "chat.completion.chunk"},
          {"created", head.created},
          {"model", head.model},
          {"choices", nlohmann::json::array({std::move(choice)})}};
}

}  // namespace

nlohmann::json tool_call_start_chunk(const ResponseHead& head, std::size_t index,
                                     const std::string& id, const std::string& name) {
  return tool_call_chunk(head, {{"index", index},
                                {"id", id},
                                {"type", "function"},
                                {"function", {{"name", name}, {"arguments", ""}}}});
}

nlohmann::json tool_call_arguments_chunk(const ResponseHead& head, std::size_t index,
                                         const std::string& arguments) {
  return tool_call_chunk(head, {{"index", index}, {"function", {{"arguments", arguments}}}});
}

std::vector<nlohmann::json> tool_call_chunks(const ResponseHead& head,
                                             const std::vector<ToolCall>& calls) {
  std::vector<nlohmann::json> chunks;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    chunks.push_back(tool_call_start_chunk(head, i, calls[i].id, calls[i].name));
    chunks.push_back(tool_call_arguments_chunk(head, i, calls[i].arguments));
  }
  return chunks;
}

nlohmann::json stream_usage_chunk(const ResponseHead& head, int prompt_tokens,
                                  int completion_tokens) {
  const bool chat = head.endpoint == Endpoint::kChatCompletions;
  return {{"id", head.id},
          {"object", chat ? "chat.completion.chunk" : "text_completion"},
          {"created", head.created},
          {"model", head.model},
          {"choices", nlohmann::json::array()},
          {"usage", usage_json(prompt_tokens, completion_tokens)}};
}

std::string sse_event(const nlohmann::json& payload) {
  return "data: " + payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

}  // namespace enclave::serve
