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
  // The arguments as the model wrote them, as OpenAI returns them.
  EXPECT_EQ(r.calls[0].arguments, R"({"unit": "c", "city": "Seoul"})");
  EXPECT_EQ(r.calls[1].arguments, "{}");
}

TEST(ToolCalls, LlamaJsonIsTheWholeReply) {
  ParsedReply r = parse_tool_calls(R"( {"name": "get_weather", "parameters": {"city": "Paris"}})",
                                   ToolCallFormat::kLlamaJson, tools());
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0].arguments, R"({"city": "Paris"})");
  EXPECT_EQ(r.content, "");
  r = parse_tool_calls(
      R"(<|python_tag|>{"name": "get_time", "parameters": {"tz": "a;b"}}; {"name": "get_time", "parameters": {}})",
      ToolCallFormat::kLlamaJson, tools());
  ASSERT_EQ(r.calls.size(), 2u);
  EXPECT_EQ(r.calls[0].arguments, R"({"tz": "a;b"})");
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

// The ids a constraint leaves open over a vocabulary of n ids.
std::vector<int> open_ids(TokenConstraint& c, int n) {
  std::vector<float> logits(static_cast<std::size_t>(n), 0.0f);
  c.mask(logits);
  std::vector<int> ids;
  for (int i = 0; i < n; ++i) {
    if (logits[static_cast<std::size_t>(i)] == 0.0f) ids.push_back(i);
  }
  return ids;
}

TEST(ToolCalls, LazyConstraintLeavesProseFreeAndHoldsCallsToTheGrammar) {
  std::vector<ToolFunction> t(1);
  t[0].name = "ping";
  t[0].strict = true;
  t[0].parameters = nlohmann::json::parse(R"({"type": "object", "properties": {}})");
  const auto trie = std::make_shared<const VocabTrie>(
      std::vector<std::pair<TokenId, std::string>>{{0, "{"},
                                                   {1, "\""},
                                                   {2, "name"},
                                                   {3, "\":"},
                                                   {4, " "},
                                                   {5, "Hi"},
                                                   {6, "<tool_call>"},
                                                   {7, "\n"},
                                                   {8, "}"},
                                                   {9, "x"},
                                                   {10, "<"},
                                                   {11, "tool_call>"},
                                                   {12, "{}"}});
  const int n = 14;  // 13 is the stop id
  {
    // Llama: a reply starting with "{" is a call and must be a good one.
    LazyToolCallConstraint c(ToolCallFormat::kLlamaJson,
                             tool_call_grammar(ToolCallFormat::kLlamaJson, t, "", true), trie,
                             {13});
    EXPECT_EQ(open_ids(c, n), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13}));
    c.accept(0);
    EXPECT_EQ(open_ids(c, n), (std::vector<int>{1, 4, 7}));  // the "name" key, or a gap
  }
  {
    LazyToolCallConstraint c(ToolCallFormat::kLlamaJson,
                             tool_call_grammar(ToolCallFormat::kLlamaJson, t, "", true), trie,
                             {13});
    c.accept(5);  // prose: nothing is held to the grammar any more
    EXPECT_EQ(open_ids(c, n).size(), static_cast<std::size_t>(n));
  }
  {
    // Hermes: prose until "<tool_call>", which may arrive in pieces.
    LazyToolCallConstraint c(ToolCallFormat::kHermes,
                             tool_call_grammar(ToolCallFormat::kHermes, t, "", true), trie, {13});
    EXPECT_EQ(open_ids(c, n).size(), static_cast<std::size_t>(n));
    c.accept(5);
    c.accept(10);
    EXPECT_EQ(open_ids(c, n).size(), static_cast<std::size_t>(n));
    c.accept(11);  // "Hi<tool_call>": a call has begun
    EXPECT_EQ(open_ids(c, n), (std::vector<int>{7}));
  }
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

  // Forced: the call goes out as it comes, its arguments piece by piece.
  ToolCallStream forced(ToolCallFormat::kHermes, tools(), /*forced=*/true);
  std::string args;
  std::vector<ToolCallDelta> deltas;
  for (const char* piece : {"<tool_call>\n{\"na", "me\": \"get_weather\"", ", \"arguments\": {\"ci",
                            "ty\": \"}\"", "}}\n</tool", "_call>"}) {
    EXPECT_EQ(forced.push(piece), "");
    for (ToolCallDelta& d : forced.take_deltas()) deltas.push_back(std::move(d));
  }
  ASSERT_GE(deltas.size(), 3u);
  EXPECT_TRUE(deltas[0].header);
  EXPECT_EQ(deltas[0].name, "get_weather");
  for (const ToolCallDelta& d : deltas) args += d.arguments;
  EXPECT_EQ(args, R"({"city": "}"})");  // a brace inside a string does not end it
  EXPECT_EQ(forced.streamed_arguments(), args.size());
  const ParsedReply whole = forced.finish();
  ASSERT_EQ(whole.calls.size(), 1u);
  EXPECT_EQ(whole.calls[0].arguments, args);

  ToolCallStream prose(ToolCallFormat::kLlamaJson, tools());
  EXPECT_EQ(prose.push("Hello {"), "Hello {");
  EXPECT_EQ(prose.push("x"), "x");
  const ParsedReply none = prose.finish();
  EXPECT_TRUE(none.calls.empty());
  EXPECT_EQ(none.content, "");
}

}  // namespace
}  // namespace enclave::serve
