// Expected renderings were produced by running each Jinja template below with
// jinja2 3.1 the way transformers does (ImmutableSandboxedEnvironment,
// trim_blocks, lstrip_blocks), except the mistral system message, which the
// v0.1 template rejects and we join to the first user turn (chat_template.h).
#include "text/chat_template.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "text/chat_sp_testing.h"
#include "text/tokenizer_json_testing.h"

namespace enclave {
namespace {

using testing::ScratchDir;

// The templates as they read after JSON decoding of tokenizer_config.json.
constexpr const char* kLlama3Template =
    R"({% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %})";
constexpr const char* kQwen2Template =
    R"({% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %})";
// Qwen2.5 writes its default in a later branch, after two non-constant uses
// of the same marker.
constexpr const char* kQwen25Template = R"({%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- endif %}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
    {%- endif %}
{%- endif %})";
constexpr const char* kPlainChatmlTemplate =
    R"({% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %})";
constexpr const char* kLlama2Template =
    R"({% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\n' + system_message + '\n<</SYS>>\n\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %})";
constexpr const char* kMistralTemplate =
    R"({{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %})";

ChatTemplate template_of(const char* text, std::optional<std::string> bos = std::nullopt,
                         std::optional<std::string> eos = std::nullopt) {
  SpecialTokenConfig config;
  config.chat_template = text;
  config.bos_token = std::move(bos);
  config.eos_token = std::move(eos);
  std::optional<ChatTemplate> tmpl = chat_template_from_config(config, "tokenizer_config.json");
  EXPECT_TRUE(tmpl.has_value());
  return *tmpl;
}

void expect_invalid(const ChatTemplate& tmpl, const std::vector<ChatMessage>& messages,
                    const std::string& needle) {
  testing::expect_error([&] { render_chat(tmpl, messages); }, ErrorKind::kInvalidInput, {needle});
}

TEST(ChatTemplate, DetectsFamilies) {
  EXPECT_EQ(detect_chat_family(kLlama3Template), ChatFamily::kLlama3);
  EXPECT_EQ(detect_chat_family(kQwen2Template), ChatFamily::kChatml);
  EXPECT_EQ(detect_chat_family(kQwen25Template), ChatFamily::kChatml);
  EXPECT_EQ(detect_chat_family(kLlama2Template), ChatFamily::kLlama2);
  EXPECT_EQ(detect_chat_family(kMistralTemplate), ChatFamily::kMistral);
  EXPECT_EQ(detect_chat_family("{{ messages[0].content }}"), std::nullopt);
  EXPECT_EQ(chat_family_name(ChatFamily::kLlama3), "llama3");
  EXPECT_EQ(chat_family_name(ChatFamily::kChatml), "chatml");
  EXPECT_EQ(chat_family_name(ChatFamily::kLlama2), "llama2");
  EXPECT_EQ(chat_family_name(ChatFamily::kMistral), "mistral");
}

TEST(ChatTemplate, ExtractsChatmlDefaultSystem) {
  EXPECT_EQ(chatml_default_system(kQwen2Template), "You are a helpful assistant.");
  EXPECT_EQ(chatml_default_system(kQwen25Template),
            "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
  EXPECT_EQ(chatml_default_system(kPlainChatmlTemplate), std::nullopt);
}

TEST(ChatTemplate, RendersLlama3) {
  ChatTemplate tmpl = template_of(kLlama3Template, "<|begin_of_text|>", "<|eot_id|>");
  EXPECT_EQ(tmpl.end_of_turn, "<|eot_id|>");
  std::vector<ChatMessage> messages = {{"system", "You are terse."},
                                       {"user", "  Hi there \n"},
                                       {"assistant", "Hello!"},
                                       {"user", "Bye\u00a0\u3000"}};
  EXPECT_EQ(render_chat(tmpl, messages),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are "
            "terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi "
            "there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|"
            "start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|><|start_header_id|>assistant<|"
            "end_header_id|>\n\n");
  EXPECT_EQ(render_chat(tmpl, {messages[1]}, /*add_generation_prompt=*/false),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>");
  EXPECT_EQ(render_chat(tmpl, {}), "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplate, RendersChatmlWithDefaultSystem) {
  ChatTemplate tmpl = template_of(kQwen2Template, std::nullopt, "<|im_end|>");
  EXPECT_EQ(tmpl.end_of_turn, "<|im_end|>");
  std::vector<ChatMessage> messages = {{"user", "Hi"}, {"assistant", "Hello"}, {"user", " 2+2? "}};
  EXPECT_EQ(render_chat(tmpl, messages),
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_"
            "end|>\n<|im_start|>assistant\nHello<|im_end|>\n<|im_start|>user\n 2+2? <|im_end|>\n<|"
            "im_start|>assistant\n");
  EXPECT_EQ(render_chat(tmpl, {{"system", "Be exact."}, {"user", "Hi"}}, false),
            "<|im_start|>system\nBe exact.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
}

TEST(ChatTemplate, RendersChatmlWithoutDefaultSystem) {
  ChatTemplate tmpl = template_of(kPlainChatmlTemplate);
  EXPECT_EQ(render_chat(tmpl, {{"user", "Hi"}}),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplate, RendersLlama2) {
  ChatTemplate tmpl = template_of(kLlama2Template, "<s>", "</s>");
  EXPECT_EQ(tmpl.end_of_turn, "</s>");
  std::vector<ChatMessage> messages = {
      {"system", "Be brief."}, {"user", "Hi "}, {"assistant", " Hello "}, {"user", "Bye"}};
  EXPECT_EQ(render_chat(tmpl, messages),
            "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello </s><s>[INST] Bye [/INST]");
  EXPECT_EQ(render_chat(tmpl, {messages[1], messages[2]}), "<s>[INST] Hi [/INST] Hello </s>");
}

TEST(ChatTemplate, RendersMistral) {
  // No bos/eos in the config: the family's usual texts.
  ChatTemplate tmpl = template_of(kMistralTemplate);
  EXPECT_EQ(tmpl.bos_token, "<s>");
  EXPECT_EQ(tmpl.eos_token, "</s>");
  std::vector<ChatMessage> messages = {{"user", "Hi "}, {"assistant", " Hello "}, {"user", "Bye"}};
  EXPECT_EQ(render_chat(tmpl, messages), "<s>[INST] Hi  [/INST] Hello </s>[INST] Bye [/INST]");
  messages.insert(messages.begin(), {"system", "Be brief."});
  EXPECT_EQ(render_chat(tmpl, messages),
            "<s>[INST] Be brief.\n\nHi  [/INST] Hello </s>[INST] Bye [/INST]");
}

TEST(ChatTemplate, RejectsRolesThatDoNotAlternate) {
  for (const char* text : {kLlama2Template, kMistralTemplate}) {
    ChatTemplate tmpl = template_of(text);
    expect_invalid(tmpl, {{"assistant", "Hi"}}, "alternate");
    expect_invalid(tmpl, {{"user", "a"}, {"user", "b"}}, "alternate");
    expect_invalid(tmpl, {{"user", "a"}, {"system", "b"}}, "alternate");
    expect_invalid(tmpl, {{"system", "s"}, {"assistant", "b"}}, "alternate");
    expect_invalid(tmpl, {{"system", "s"}}, "user message");
  }
}

TEST(ChatTemplate, RejectsUnknownRole) {
  for (const char* text : {kLlama3Template, kQwen2Template, kLlama2Template, kMistralTemplate}) {
    expect_invalid(template_of(text), {{"user", "a"}, {"tool", "b"}}, "unknown role 'tool'");
  }
}

TEST(ChatTemplate, UnknownFamilyIsUnsupported) {
  SpecialTokenConfig config;
  config.chat_template = "{% for m in messages %}{{ m.content }}{% endfor %}";
  testing::expect_error([&] { chat_template_from_config(config, "m/tokenizer_config.json"); },
                        ErrorKind::kUnsupported, {"m/tokenizer_config.json", "chat_template"});
}

TEST(ChatTemplate, LoadsFromModelDirectory) {
  ScratchDir dir("chat_load");
  EXPECT_FALSE(load_chat_template(dir.path()));
  dir.write("tokenizer_config.json", R"({"bos_token": "<|begin_of_text|>",
    "eos_token": {"content": "<|end_of_text|>"},
    "chat_template": [{"name": "default", "template": "<|start_header_id|>"}]})");
  std::optional<ChatTemplate> tmpl = load_chat_template(dir.path());
  ASSERT_TRUE(tmpl);
  EXPECT_EQ(tmpl->family, ChatFamily::kLlama3);
  EXPECT_EQ(tmpl->bos_token, "<|begin_of_text|>");
  EXPECT_EQ(tmpl->eos_token, "<|end_of_text|>");
  EXPECT_EQ(tmpl->end_of_turn, "<|eot_id|>");
}

TEST(ChatTemplate, LoadRejectsMalformedConfig) {
  ScratchDir dir("chat_bad");
  dir.write("tokenizer_config.json", R"({"chat_template": {"default": "x"}})");
  testing::expect_error([&] { load_chat_template(dir.path()); }, ErrorKind::kInvalidInput,
                        {"tokenizer_config.json", "chat_template"});
}

TEST(ChatTemplate, StripKeepsInvalidUtf8) {
  // Bytes that are not UTF-8 are not whitespace: strip stops at them.
  ChatTemplate tmpl = template_of(kLlama3Template, "");
  EXPECT_EQ(render_chat(tmpl, {{"user", " \xFF x \xE2\x80"}}, false),
            "<|start_header_id|>user<|end_header_id|>\n\n\xFF x \xE2\x80<|eot_id|>");
}

}  // namespace
}  // namespace enclave
