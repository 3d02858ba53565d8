#include "serve/openai_request.h"

#include <gtest/gtest.h>

#include "serve/api_error.h"
#include "serve/openai_response.h"

namespace enclave::serve {
namespace {

CompletionRequest chat(const std::string& body) {
  return parse_completion_request(parse_body(body), Endpoint::kChatCompletions, RequestLimits{});
}
CompletionRequest completion(const std::string& body) {
  return parse_completion_request(parse_body(body), Endpoint::kCompletions, RequestLimits{});
}

// The 400 a body gets, with the field it names.
std::string rejected_param(const std::string& body, Endpoint endpoint = Endpoint::kCompletions) {
  try {
    parse_completion_request(parse_body(body), endpoint, RequestLimits{});
  } catch (const ApiException& e) {
    EXPECT_EQ(e.error().status, 400) << body;
    EXPECT_EQ(e.error().type, "invalid_request_error");
    return e.error().param;
  }
  ADD_FAILURE() << "accepted: " << body;
  return "";
}

TEST(OpenAiRequest, ParsesAChatRequestWithEveryField) {
  CompletionRequest r =
      chat(R"({"model": "m", "messages": [{"role": "system", "content": "be brief"},
      {"role": "user", "content": [{"type": "text", "text": "hi "}, {"type": "text", "text": "there"}]}],
      "max_tokens": 7, "temperature": 0, "top_p": 0.5, "stop": ["\n", "END"], "seed": 42, "stream": true,
      "stream_options": {"include_usage": true}, "logprobs": true, "top_logprobs": 3, "user": "u1",
      "frequency_penalty": 0.5, "presence_penalty": -1, "logit_bias": {"12": -100, "7": 3.5},
      "n": 1, "store": false, "modalities": ["text"], "parallel_tool_calls": true})");
  EXPECT_EQ(r.penalties.frequency, 0.5);
  EXPECT_EQ(r.penalties.presence, -1);
  ASSERT_EQ(r.penalties.logit_bias.size(), 2u);
  EXPECT_EQ(r.model, "m");
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1].content, "hi there");
  EXPECT_EQ(r.max_tokens, 7);
  EXPECT_EQ(r.temperature, 0);
  EXPECT_EQ(r.top_p, 0.5);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"\n", "END"}));
  EXPECT_EQ(r.seed, 42u);
  EXPECT_TRUE(r.stream && r.include_usage && r.logprobs);
  EXPECT_EQ(r.top_logprobs, 3);
}

TEST(OpenAiRequest, ParsesACompletionRequestAndDefaults) {
  CompletionRequest r = completion(R"({"prompt": ["once upon"], "stop": "x", "logprobs": 2})");
  EXPECT_EQ(r.prompt, "once upon");
  EXPECT_EQ(r.stop, std::vector<std::string>{"x"});
  EXPECT_FALSE(r.max_tokens.has_value());
  EXPECT_EQ(r.temperature, 1.0);
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.top_logprobs, 2);
  EXPECT_EQ(chat(R"({"messages": [{"role": "user", "content": "x"}], "max_completion_tokens": 3})")
                .max_tokens,
            3);
  // /v1/completions never defined max_completion_tokens.
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "max_completion_tokens": 3})"),
            "max_completion_tokens");
}

TEST(OpenAiRequest, RejectsOutOfRangeAndMistypedFields) {
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "max_tokens": -1})"), "max_tokens");
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "max_tokens": 0})"), "max_tokens");
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "max_tokens": 1e9})"), "max_tokens");
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "max_tokens": 2.5})"), "max_tokens");
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "max_tokens": "9"})"), "max_tokens");
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "temperature": 1e6})"), "temperature");
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "temperature": -0.1})"), "temperature");
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "top_p": -1})"), "top_p");
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "top_p": 0})"), "top_p");
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "n": 1000000})"), "n");
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "stop": ["a", "b", "c", "d", "e"]})"), "stop");
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "stop": [""]})"), "stop");
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "stop": [1]})"), "stop");
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "logprobs": 6})"), "logprobs");
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "stream": "yes"})"), "stream");
  EXPECT_EQ(rejected_param(R"({"prompt": 5})"), "prompt");
  EXPECT_EQ(rejected_param(R"({"prompt": ["a", "b"]})"), "prompt");
  EXPECT_EQ(rejected_param(R"({"max_tokens": 5})"), "prompt");
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "tools": []})"), "tools");
}

// The message a rejection carries, for checks of its wording.
std::string rejection_message(const std::string& body, Endpoint endpoint) {
  try {
    parse_completion_request(parse_body(body), endpoint, RequestLimits{});
  } catch (const ApiException& e) {
    return e.error().message;
  }
  return "";
}

TEST(OpenAiRequest, RejectsUnknownFieldsNamingThem) {
  const Endpoint c = Endpoint::kChatCompletions;
  const std::string msgs = R"("messages": [{"role": "user", "content": "x"}])";
  EXPECT_EQ(rejected_param("{" + msgs + R"(, "max_tokns": 5})", c), "max_tokns");
  EXPECT_NE(rejection_message("{" + msgs + R"(, "max_tokns": 5})", c).find("Unrecognized"),
            std::string::npos);
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "unknown": 1})"), "unknown");
  // Chat-only fields are unknown to /v1/completions and the reverse.
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "tools": []})"), "tools");
  EXPECT_EQ(rejected_param("{" + msgs + R"(, "echo": true})", c), "echo");
  EXPECT_EQ(rejected_param("{" + msgs + R"(, "stream": true, "stream_options": {"x": 1}})", c),
            "stream_options.x");
}

TEST(OpenAiRequest, RejectsUnsupportedParametersNamingThem) {
  const Endpoint c = Endpoint::kChatCompletions;
  const std::string msgs = R"("messages": [{"role": "user", "content": "x"}])";
  for (const char* bad :
       {R"("audio": {"voice": "alloy", "format": "wav"})", R"("modalities": ["text", "audio"])",
        R"("store": true)", R"("prediction": {"type": "content", "content": "x"})",
        R"("reasoning_effort": "low")", R"("functions": [])", R"("service_tier": "flex")",
        R"("web_search_options": {})", R"("n": 2)"}) {
    const std::string body = "{" + msgs + ", " + bad + "}";
    const std::string key = std::string(bad).substr(1, std::string(bad).find('"', 1) - 1);
    EXPECT_EQ(rejected_param(body, c), key) << body;
  }
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "suffix": "z"})"), "suffix");
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "best_of": 3})"), "best_of");
  // Null means "not given", as in OpenAI's clients.
  EXPECT_NO_THROW(chat("{" + msgs + R"(, "audio": null, "n": null, "seed": null})"));
}

TEST(OpenAiRequest, ChecksPenaltiesAndLogitBias) {
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "presence_penalty": 2.5})"), "presence_penalty");
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "frequency_penalty": -3})"), "frequency_penalty");
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "logit_bias": {"5": 101}})"), "logit_bias.5");
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "logit_bias": {"x": 1}})"), "logit_bias.x");
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "logit_bias": {"-1": 1}})"), "logit_bias.-1");
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "logit_bias": [1]})"), "logit_bias");
  const CompletionRequest r = completion(R"({"prompt": "a", "logit_bias": {"3": 1, "99": 2}})");
  EXPECT_NO_THROW(check_logit_bias(r, 100));
  try {
    check_logit_bias(r, 99);
    ADD_FAILURE() << "id 99 accepted for a vocabulary of 99";
  } catch (const ApiException& e) {
    EXPECT_EQ(e.error().param, "logit_bias.99");
  }
}

TEST(OpenAiRequest, RejectsBadMessages) {
  const Endpoint c = Endpoint::kChatCompletions;
  EXPECT_EQ(rejected_param(R"({"messages": []})", c), "messages");
  EXPECT_EQ(rejected_param(R"({"messages": "hi"})", c), "messages");
  EXPECT_EQ(rejected_param(R"({"messages": [{"role": "function", "content": "x"}]})", c),
            "messages[0].role");
  EXPECT_EQ(rejected_param(R"({"messages": [{"role": "user"}]})", c), "messages[0].content");
  EXPECT_EQ(
      rejected_param(R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", c),
      "messages[0].content[0]");
  EXPECT_EQ(rejected_param(R"({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 21,
      "logprobs": true})",
                           c),
            "top_logprobs");
}

TEST(OpenAiRequest, ParsesToolsToolChoiceAndToolMessages) {
  const CompletionRequest r = chat(R"({"messages": [
      {"role": "user", "content": "weather?"},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"city\": \"Seoul\"}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "3 C"}],
      "tools": [{"type": "function", "function": {"name": "get_weather", "description": "d",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": true}}],
      "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
      "parallel_tool_calls": false})");
  ASSERT_EQ(r.tools.size(), 1u);
  EXPECT_EQ(r.tools[0].name, "get_weather");
  EXPECT_TRUE(r.tools[0].strict);
  EXPECT_EQ(r.tool_choice, ToolChoice::kFunction);
  EXPECT_EQ(r.tool_choice_name, "get_weather");
  EXPECT_FALSE(r.parallel_tool_calls);
  ASSERT_EQ(r.chat_messages.size(), 3u);
  EXPECT_TRUE(r.chat_messages[1]["content"].is_null());
  EXPECT_EQ(r.chat_messages[1]["tool_calls"][0]["function"]["arguments"], "{\"city\": \"Seoul\"}");
  EXPECT_EQ(r.chat_messages[2]["tool_call_id"], "call_1");
  EXPECT_EQ(r.messages[2].role, "tool");
  // Tools given without tool_choice: auto.
  EXPECT_EQ(chat(R"({"messages": [{"role": "user", "content": "x"}],
      "tools": [{"type": "function", "function": {"name": "f"}}]})")
                .tool_choice,
            ToolChoice::kAuto);
}

TEST(OpenAiRequest, RejectsMalformedToolsNamingTheField) {
  const Endpoint c = Endpoint::kChatCompletions;
  const std::string m = R"("messages": [{"role": "user", "content": "x"}])";
  const auto param = [&](const std::string& rest) {
    return rejected_param("{" + m + ", " + rest + "}", c);
  };
  EXPECT_EQ(param(R"("tools": {})"), "tools");
  EXPECT_EQ(param(R"("tools": [{"type": "code_interpreter"}])"), "tools[0].type");
  EXPECT_EQ(param(R"("tools": [{"type": "function", "function": {"name": "a b"}}])"),
            "tools[0].function.name");
  EXPECT_EQ(param(R"("tools": [{"type": "function", "function": {"name": "f", "params": {}}}])"),
            "tools[0].function.params");
  EXPECT_EQ(param(R"("tools": [{"type": "function", "function": {"name": "f", "parameters": 1}}])"),
            "tools[0].function.parameters");
  EXPECT_EQ(param(R"("tools": [{"type": "function", "function": {"name": "f"}},
      {"type": "function", "function": {"name": "f"}}])"),
            "tools[1].function.name");
  EXPECT_EQ(param(R"("tools": [{"type": "function", "function": {"name": "f", "strict": true,
      "parameters": {"type": "object", "properties": {"d": {"type": "string", "format": "date"}}}}}])"),
            "tools[0].function.parameters.properties.d.format");
  EXPECT_EQ(param(R"("tool_choice": "auto")"), "tool_choice");
  EXPECT_EQ(
      param(R"("tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "any")"),
      "tool_choice");
  EXPECT_EQ(param(R"("tools": [{"type": "function", "function": {"name": "f"}}],
      "tool_choice": {"type": "function", "function": {"name": "g"}})"),
            "tool_choice.function.name");
  EXPECT_EQ(rejected_param(R"({"messages": [{"role": "tool", "content": "x"}]})", c),
            "messages[0].tool_call_id");
  EXPECT_EQ(
      rejected_param(R"({"messages": [{"role": "user", "content": "x", "tool_calls": []}]})", c),
      "messages[0].tool_calls");
  EXPECT_EQ(rejected_param(R"({"messages": [{"role": "assistant", "content": null,
      "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": {}}}]}]})",
                           c),
            "messages[0].tool_calls[0].function.arguments");
  EXPECT_EQ(rejected_param(R"({"messages": [{"role": "assistant", "content": null}]})", c),
            "messages[0].content");
}

TEST(OpenAiRequest, ResponseFormatCompilesItsSchema) {
  const Endpoint c = Endpoint::kChatCompletions;
  const std::string m = R"("messages": [{"role": "user", "content": "x"}])";
  EXPECT_EQ(chat("{" + m + R"(, "response_format": {"type": "text"}})").response_grammar, nullptr);
  EXPECT_NE(chat("{" + m + R"(, "response_format": {"type": "json_object"}})").response_grammar,
            nullptr);
  EXPECT_NE(chat("{" + m + R"(, "response_format": {"type": "json_schema", "json_schema":
      {"name": "n", "strict": true, "schema": {"type": "object", "properties": {}}}}})")
                .response_grammar,
            nullptr);
  const auto param = [&](const std::string& rest) {
    return rejected_param("{" + m + ", " + rest + "}", c);
  };
  EXPECT_EQ(param(R"("response_format": {"type": "json_schema", "json_schema": {"name": "n",
      "schema": {"type": "object", "properties": {"a": {"type": "string", "format": "date"}}}}})"),
            "response_format.json_schema.schema.properties.a.format");
  EXPECT_EQ(param(R"("response_format": {"type": "json_schema", "json_schema": {"schema": {}}})"),
            "response_format.json_schema.name");
  EXPECT_EQ(param(R"("response_format": {"type": "json_schema"})"), "response_format.json_schema");
  EXPECT_EQ(param(R"("response_format": {"type": "json_object", "extra": 1})"),
            "response_format.extra");
  EXPECT_EQ(param(R"("response_format": {"type": "json_object"},
      "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "required")"),
            "response_format");
  // /v1/completions has no response_format.
  EXPECT_EQ(rejected_param(R"({"prompt": "a", "response_format": {"type": "json_object"}})"),
            "response_format");
}

TEST(OpenAiRequest, RejectsBodiesThatAreNotJsonObjects) {
  for (const char* body : {"", "{", "[1]", "nul", R"({"a": 1, "a": 2})", "\"text\""}) {
    try {
      parse_body(body);
      ADD_FAILURE() << "accepted: " << body;
    } catch (const ApiException& e) {
      EXPECT_EQ(e.error().status, 400);
    }
  }
  EXPECT_THROW(parse_body(std::string(100, '[') + std::string(100, ']')), ApiException);
}

TEST(OpenAiResponse, ShapesFollowTheOpenAiApi) {
  ResponseHead head{"chatcmpl-1", 5, "tiny", Endpoint::kChatCompletions};
  nlohmann::json r = completion_response(head, "hello", FinishReason::kLength, false, {}, 3, 2);
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_EQ(r["choices"][0]["message"]["content"], "hello");
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(r["usage"]["total_tokens"], 5);
  nlohmann::json chunk = stream_chunk(head, "he", true, false, {}, nullptr);
  EXPECT_EQ(chunk["object"], "chat.completion.chunk");
  EXPECT_EQ(chunk["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(chunk["choices"][0]["finish_reason"].is_null());
  EXPECT_EQ(sse_event({{"a", 1}}), "data: {\"a\":1}\n\n");
  ApiError e = bad_request("bad", "top_p");
  EXPECT_EQ(error_json(e)["error"]["param"], "top_p");
  EXPECT_TRUE(error_json(e)["error"]["code"].is_null());
  head.endpoint = Endpoint::kCompletions;
  TokenLogprob lp{"\xe2", -0.5, {{"a", -0.1}}};  // a partial UTF-8 byte token
  nlohmann::json c = completion_response(head, "x", FinishReason::kStop, true, {lp}, 1, 1);
  EXPECT_EQ(c["choices"][0]["logprobs"]["token_logprobs"][0], -0.5);
  EXPECT_NO_THROW(c.dump());
}

}  // namespace
}  // namespace enclave::serve
