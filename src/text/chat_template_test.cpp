// Chat templates run through the Jinja engine: loading (tokenizer_config.json,
// named lists, chat_template.jinja), the variables transformers passes, and
// the assistant spans training masks come from. The templates here are
// written for these tests; byte-identity with python3-jinja2 on published
// templates is checked by tests/chat_template_reference_test.py.
#include "text/chat_template.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "text/chat_sp_testing.h"
#include "text/tokenizer_json_testing.h"

namespace enclave {
namespace {

using nlohmann::ordered_json;
using testing::ScratchDir;

// Headers around each turn, BOS once, an end-of-turn marker after each.
constexpr const char* kTurns =
    "{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>\n{{ m.content | trim }}<|end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}";

// Marks assistant output with generation blocks, as templates made for
// assistant masks do.
constexpr const char* kGenerationBlocks =
    "{% for m in messages %}[{{ m.role }}] {% if m.role == 'assistant' %}{% generation %}"
    "{{ m.content }}<eot>{% endgeneration %}{% else %}{{ m.content }}{% endif %}\n{% endfor %}"
    "{% if add_generation_prompt %}[assistant] {% endif %}";

// Drops the reasoning of assistant turns before the last user message, as
// reasoning models' templates do.
constexpr const char* kDropsPastReasoning =
    "{% set ns = namespace(last_user=0) %}{% for m in messages %}{% if m.role == 'user' %}"
    "{% set ns.last_user = loop.index0 %}{% endif %}{% endfor %}"
    "{% for m in messages %}<{{ m.role }}>{% if m.role == 'assistant' %}"
    "{% if loop.index0 > ns.last_user %}<think>{{ m.reasoning | default('') }}</think>{% endif %}"
    "{% endif %}{{ m.content }}</{{ m.role }}>{% endfor %}"
    "{% if add_generation_prompt %}<assistant>{% endif %}";

ChatTemplate make(const char* text, std::optional<std::string> tool_use = std::nullopt) {
  SpecialTokenConfig specials;
  specials.bos_token = "<s>";
  specials.eos_token = "</s>";
  return make_chat_template(text, "test: chat_template", specials, std::move(tool_use));
}

ordered_json conversation() {
  return ordered_json::parse(R"([
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": " 안녕? "},
    {"role": "assistant", "content": "Hi."},
    {"role": "user", "content": "More"},
    {"role": "assistant", "content": "Done."}])");
}

std::vector<std::string> spans_text(const ChatSpans& s) {
  std::vector<std::string> out;
  for (auto [b, e] : s.assistant) out.push_back(s.text.substr(b, e - b));
  return out;
}

TEST(ChatTemplate, RendersWithSpecialTokensAndGenerationPrompt) {
  ChatTemplate tmpl = make(kTurns);
  ordered_json messages = ordered_json::parse(R"([{"role": "user", "content": " 안녕? "}])");
  ChatRenderOptions options;
  EXPECT_EQ(render_chat(tmpl, messages, options), "<s><|user|>\n안녕?<|end|>\n<|assistant|>\n");
  options.add_generation_prompt = false;
  EXPECT_EQ(render_chat(tmpl, messages, options), "<s><|user|>\n안녕?<|end|>\n");
  EXPECT_EQ(render_chat(tmpl, {{"user", "x"}}, false), "<s><|user|>\nx<|end|>\n");
}

TEST(ChatTemplate, ExtraVariablesOverrideSpecialTokens) {
  ChatTemplate tmpl = make("{{ bos_token }}|{{ enable_thinking }}|{{ tools is none }}");
  ChatRenderOptions options;
  options.variables = {{"bos_token", "B"}, {"enable_thinking", false}};
  EXPECT_EQ(render_chat(tmpl, ordered_json::array(), options), "B|False|True");
}

TEST(ChatTemplate, ToolsChooseTheToolUseTemplate) {
  ChatTemplate tmpl = make("plain", "{% for t in tools %}{{ t.function | tojson }}{% endfor %}");
  ChatRenderOptions options;
  EXPECT_EQ(render_chat(tmpl, ordered_json::array(), options), "plain");
  options.tools = ordered_json::parse(
      R"([{"type": "function", "function": {"name": "f", "parameters": {"z": 1, "a": 2}}}])");
  // Keys stay in the order given, as Python dicts keep them.
  EXPECT_EQ(render_chat(tmpl, ordered_json::array(), options),
            R"({"name": "f", "parameters": {"z": 1, "a": 2}})");
}

TEST(ChatTemplate, RaiseExceptionIsAnInputError) {
  ChatTemplate tmpl = make(
      "{% for m in messages %}{% if m.role == 'system' %}"
      "{{ raise_exception('System role not supported') }}{% endif %}{% endfor %}");
  testing::expect_error([&] { render_chat(tmpl, conversation(), ChatRenderOptions{}); },
                        ErrorKind::kInvalidInput, {"System role not supported"});
}

TEST(ChatTemplate, SyntaxErrorNamesTemplateAndLine) {
  testing::expect_error([] { make("line one\n{% if x %}\nno end"); }, ErrorKind::kInvalidInput,
                        {"test: chat_template", ":"});
}

TEST(ChatTemplate, MessagesMustBeObjectsWithRole) {
  ChatTemplate tmpl = make(kTurns);
  testing::expect_error(
      [&] { render_chat(tmpl, ordered_json::parse(R"([{"content": "x"}])"), {}); },
      ErrorKind::kInvalidInput, {"messages[0]", "role"});
}

TEST(ChatTemplate, SpansFromGenerationBlocks) {
  ChatSpans s = render_chat_spans(make(kGenerationBlocks), conversation(), {}, "rec");
  EXPECT_EQ(spans_text(s), (std::vector<std::string>{"Hi.<eot>", "Done.<eot>"}));
  // trim_blocks drops the newline after a block tag, as transformers sets it.
  EXPECT_EQ(s.text.substr(0, 20), "[system] Be brief.[u");
}

TEST(ChatTemplate, SpansFromRenderingUpToEachTurn) {
  ChatSpans s = render_chat_spans(make(kTurns), conversation(), {}, "rec");
  EXPECT_EQ(spans_text(s), (std::vector<std::string>{"Hi.<|end|>\n", "Done.<|end|>\n"}));
}

TEST(ChatTemplate, SpansFollowTurnsTheTemplateRewrites) {
  ordered_json messages = ordered_json::parse(R"([
    {"role": "user", "content": "a"},
    {"role": "assistant", "content": "one", "reasoning": "because"},
    {"role": "user", "content": "b"},
    {"role": "assistant", "content": "two", "reasoning": "so"}])");
  ChatSpans s = render_chat_spans(make(kDropsPastReasoning), messages, {}, "rec");
  EXPECT_EQ(s.text,
            "<user>a</user><assistant>one</assistant><user>b</user>"
            "<assistant><think>so</think>two</assistant>");
  EXPECT_EQ(spans_text(s),
            (std::vector<std::string>{"one</assistant>", "<think>so</think>two</assistant>"}));
}

TEST(ChatTemplate, SpansFailWhenATurnCannotBeFound) {
  // Assistant content is upper-cased only in the full conversation.
  ChatTemplate tmpl = make(
      "{% for m in messages %}{% if m.role == 'assistant' and not loop.last %}"
      "{{ m.content | upper }}{% else %}{{ m.content }}{% endif %};{% endfor %}");
  ordered_json messages = ordered_json::parse(R"([
    {"role": "user", "content": "q"}, {"role": "assistant", "content": "ab"},
    {"role": "user", "content": "r"}, {"role": "assistant", "content": "cd"}])");
  testing::expect_error([&] { render_chat_spans(tmpl, messages, {}, "data.jsonl:3"); },
                        ErrorKind::kUnsupported, {"data.jsonl:3", "message 1"});
}

TEST(ChatTemplate, LoadsFromTokenizerConfigAndNamedLists) {
  ScratchDir dir("chat_load");
  EXPECT_FALSE(load_chat_template(dir.path()));
  dir.write("tokenizer_config.json", R"({"bos_token": "<B>",
    "eos_token": {"content": "<E>"},
    "chat_template": [{"name": "default", "template": "{{ bos_token }}d{{ eos_token }}"},
                      {"name": "tool_use", "template": "t"}]})");
  std::optional<ChatTemplate> tmpl = load_chat_template(dir.path());
  ASSERT_TRUE(tmpl);
  EXPECT_EQ(render_chat(*tmpl, ordered_json::array(), {}), "<B>d<E>");
  ChatRenderOptions with_tools;
  with_tools.tools = ordered_json::array();
  EXPECT_EQ(render_chat(*tmpl, ordered_json::array(), with_tools), "t");
  EXPECT_NE(describe_chat_template(*tmpl).find("tool_use"), std::string::npos);
}

TEST(ChatTemplate, ChatTemplateJinjaFileWins) {
  ScratchDir dir("chat_jinja_file");
  dir.write("tokenizer_config.json", R"({"chat_template": "config"})");
  dir.write("chat_template.jinja", "file\n");
  std::optional<ChatTemplate> tmpl = load_chat_template(dir.path());
  ASSERT_TRUE(tmpl);
  // jinja2 drops one trailing newline of the source, as transformers leaves it.
  EXPECT_EQ(render_chat(*tmpl, ordered_json::array(), {}), "file");
  EXPECT_NE(tmpl->origin.find("chat_template.jinja"), std::string::npos);
}

TEST(ChatTemplate, UserTemplateFileUsesTheModelsTokens) {
  ScratchDir dir("chat_user_file");
  dir.write("tokenizer_config.json", R"({"bos_token": "<B>"})");
  dir.write("mine.jinja", "{{ bos_token }}{{ messages[0].content }}");
  ChatTemplate tmpl = load_chat_template_file(dir.path() / "mine.jinja", dir.path());
  EXPECT_EQ(render_chat(tmpl, {{"user", "hi"}}), "<B>hi");
  testing::expect_error([&] { load_chat_template_file(dir.path() / "missing.jinja", dir.path()); },
                        ErrorKind::kNotFound, {"missing.jinja"});
}

TEST(ChatTemplate, LoadRejectsMalformedConfig) {
  ScratchDir dir("chat_bad");
  dir.write("tokenizer_config.json", R"({"chat_template": {"default": "x"}})");
  testing::expect_error([&] { load_chat_template(dir.path()); }, ErrorKind::kInvalidInput,
                        {"tokenizer_config.json", "chat_template"});
  dir.write("tokenizer_config.json", R"({"chat_template": "{% for %}"})");
  testing::expect_error([&] { load_chat_template(dir.path()); }, ErrorKind::kInvalidInput,
                        {"tokenizer_config.json: chat_template"});
}

TEST(ChatTemplate, PinnedClock) {
  ChatTemplate tmpl = make("{{ strftime_now('%d %b %Y') }}");
  setenv("SOURCE_DATE_EPOCH", "1785024000", 1);  // 2026-07-26 UTC
  setenv("TZ", "UTC", 1);
  tzset();
  EXPECT_EQ(render_chat(tmpl, ordered_json::array(), {}), "26 Jul 2026");
  setenv("SOURCE_DATE_EPOCH", "soon", 1);
  testing::expect_error([&] { render_chat(tmpl, ordered_json::array(), {}); },
                        ErrorKind::kInvalidInput, {"SOURCE_DATE_EPOCH"});
  unsetenv("SOURCE_DATE_EPOCH");
}

}  // namespace
}  // namespace enclave
