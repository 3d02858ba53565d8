#include "serve/tool_calls.h"

#include <gtest/gtest.h>

namespace enclave::serve {
namespace {

std::vector<ToolFunction> tools() {
  ToolFunction weather;
  weather.name = "get_weather";
  weather.parameters = nlohmann::json::parse(
      R"({"type": "object", "properties": {"city": {"type": "string", "maxLength": 8},
          "unit": {"enum": ["c", "f"]}}, "required": ["city"]})");
  ToolFunction time;
  time.name = "get_time";
  return {weather, time};
}

TEST(ToolCalls, HermesCallsAreFoundBetweenTags) {
  const ParsedReply r = parse_tool_calls(
      "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"unit\": \"c\", "
      "\"city\": \"Seoul\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": "
      "{}}\n</tool_call>",
      ToolCallFormat::kHermes, tools());
  ASSERT_EQ(r.calls.size(), 2u);
  EXPECT_EQ(r.content, "Let me check.");
  EXPECT_EQ(r.calls[0].name, "get_weather");
  // The model's key order is kept, as JSON text.
  EXPECT_EQ(r.calls[0].arguments, R"({"unit":"c","city":"Seoul"})");
  EXPECT_EQ(r.calls[1].arguments, "{}");
}

TEST(ToolCalls, LlamaJsonIsTheWholeReply) {
  ParsedReply r = parse_tool_calls(R"( {"name": "get_weather", "parameters": {"city": "Paris"}})",
                                   ToolCallFormat::kLlamaJson, tools());
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0].arguments, R"({"city":"Paris"})");
  EXPECT_EQ(r.content, "");
  r = parse_tool_calls(
      R"(<|python_tag|>{"name": "get_time", "parameters": {"tz": "a;b"}}; {"name": "get_time", "parameters": {}})",
      ToolCallFormat::kLlamaJson, tools());
  ASSERT_EQ(r.calls.size(), 2u);
  EXPECT_EQ(r.calls[0].arguments, R"({"tz":"a;b"})");
  // Text around JSON is content.
  r = parse_tool_calls(R"(Sure: {"name": "get_time", "parameters": {}})",
                       ToolCallFormat::kLlamaJson, tools());
  EXPECT_TRUE(r.calls.empty());
  EXPECT_EQ(r.content, R"(Sure: {"name": "get_time", "parameters": {}})");
}

TEST(ToolCalls, MistralCallsFollowTheirTag) {
  const ParsedReply r =
      parse_tool_calls(R"([TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Rome"}}])",
                       ToolCallFormat::kMistral, tools());
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0].name, "get_weather");
}

TEST(ToolCalls, UnknownFunctionsAndBrokenJsonStayContent) {
  for (const char* text :
       {"<tool_call>\n{\"name\": \"rm_rf\", \"arguments\": {}}\n</tool_call>",
        "<tool_call>\n{\"name\": \"get_time\", \"arguments\": \n</tool_call>", "plain words"}) {
    const ParsedReply r = parse_tool_calls(text, ToolCallFormat::kHermes, tools());
    EXPECT_TRUE(r.calls.empty()) << text;
    EXPECT_EQ(r.content, text);
  }
}

TEST(ToolCalls, StrictToolsReturnOnlyCallsThatFollowTheSchema) {
  std::vector<ToolFunction> t = tools();
  t[0].strict = true;
  t[0].strict_grammar = JsonGrammar::from_schema(t[0].parameters);
  const auto n_calls = [&](const std::string& args) {
    return parse_tool_calls("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": " + args +
                                "}\n</tool_call>",
                            ToolCallFormat::kHermes, t)
        .calls.size();
  };
  EXPECT_EQ(n_calls(R"({"city": "Oslo"})"), 1u);
  EXPECT_EQ(n_calls(R"({"unit": "f", "city": "Oslo"})"), 1u);  // any key order
  EXPECT_EQ(n_calls(R"({"city": "Kristiansand"})"), 0u);       // maxLength 8
  EXPECT_EQ(n_calls(R"({"unit": "k", "city": "Oslo"})"), 0u);
  EXPECT_EQ(n_calls(R"({})"), 0u);  // city is required
}

TEST(ToolCalls, GrammarForcesAWellFormedCall) {
  const auto g = tool_call_grammar(ToolCallFormat::kHermes, tools(), "");
  JsonMatcher m(g);
  const std::string call =
      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>";
  EXPECT_TRUE(m.advance(call));
  EXPECT_TRUE(m.complete());
  JsonMatcher bad(g);
  EXPECT_FALSE(bad.advance("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"town\""));
  // Named: only that function.
  JsonMatcher named(tool_call_grammar(ToolCallFormat::kLlamaJson, tools(), "get_time"));
  EXPECT_FALSE(named.advance("{\"name\": \"get_w"));
  EXPECT_TRUE(named.advance("{\"name\": \"get_time\", \"parameters\": {}}"));
  EXPECT_TRUE(named.complete());
  EXPECT_EQ(parse_tool_calls(call, ToolCallFormat::kHermes, tools()).calls.size(), 1u);
}

TEST(ToolCalls, GrammarErrorsNameTheToolsSchema) {
  std::vector<ToolFunction> t = tools();
  t[1].parameters = nlohmann::json::parse(R"({"type": "object", "patternProperties": {}})");
  try {
    tool_call_grammar(ToolCallFormat::kHermes, t, "");
    ADD_FAILURE() << "accepted";
  } catch (const SchemaError& e) {
    EXPECT_EQ(e.path(), "tools[1].function.parameters.patternProperties");
  }
}

TEST(ToolCalls, StreamHoldsBackOnlyWhatMayBeACall) {
  ToolCallStream hermes(ToolCallFormat::kHermes, tools());
  std::string sent = hermes.push("Checking <tool");
  EXPECT_EQ(sent, "Checking ");
  sent += hermes.push("_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>");
  EXPECT_EQ(sent, "Checking ");
  ParsedReply rest = hermes.finish();
  ASSERT_EQ(rest.calls.size(), 1u);
  EXPECT_EQ(rest.content, "");

  ToolCallStream words(ToolCallFormat::kHermes, tools());
  EXPECT_EQ(words.push("a <b"), "a <b");
  EXPECT_TRUE(words.finish().calls.empty());

  ToolCallStream llama(ToolCallFormat::kLlamaJson, tools());
  EXPECT_EQ(llama.push(" "), "");
  EXPECT_EQ(llama.push("{\"name\": \"get_time\","), "");
  llama.push(" \"parameters\": {}}");
  EXPECT_EQ(llama.finish().calls.size(), 1u);

  ToolCallStream prose(ToolCallFormat::kLlamaJson, tools());
  EXPECT_EQ(prose.push("Hello {"), "Hello {");
  EXPECT_EQ(prose.push("x"), "x");
  const ParsedReply none = prose.finish();
  EXPECT_TRUE(none.calls.empty());
  EXPECT_EQ(none.content, "");
}

}  // namespace
}  // namespace enclave::serve
