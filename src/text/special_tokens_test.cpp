#include "text/special_tokens.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "text/chat_sp_testing.h"
#include "text/tokenizer_json_testing.h"

namespace enclave {
namespace {

using testing::ScratchDir;

TEST(SpecialTokens, EmptyDirectoryIsEmptyConfig) {
  ScratchDir dir("special_empty");
  SpecialTokenConfig config = read_special_token_config(dir.path());
  EXPECT_FALSE(config.bos_token);
  EXPECT_FALSE(config.eos_token);
  EXPECT_FALSE(config.add_bos_token);
  EXPECT_FALSE(config.chat_template);
  EXPECT_TRUE(config.generation_eos_ids.empty());
}

TEST(SpecialTokens, ReadsStringsObjectsAndFlags) {
  ScratchDir dir("special_full");
  dir.write("tokenizer_config.json", R"({
    "add_bos_token": true, "add_eos_token": false,
    "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
    "eos_token": "</s>", "unk_token": "<unk>", "pad_token": null,
    "chat_template": "{{ bos_token }}[INST] x [/INST]"
  })");
  dir.write("generation_config.json", R"({"bos_token_id": 1, "eos_token_id": 2})");
  SpecialTokenConfig config = read_special_token_config(dir.path());
  EXPECT_EQ(config.bos_token, "<s>");
  EXPECT_EQ(config.eos_token, "</s>");
  EXPECT_EQ(config.unk_token, "<unk>");
  EXPECT_FALSE(config.pad_token);
  EXPECT_EQ(config.add_bos_token, true);
  EXPECT_EQ(config.add_eos_token, false);
  EXPECT_EQ(config.chat_template, "{{ bos_token }}[INST] x [/INST]");
  EXPECT_EQ(config.generation_eos_ids, (std::vector<std::int64_t>{2}));
}

TEST(SpecialTokens, GenerationEosList) {
  ScratchDir dir("special_eos_list");
  dir.write("generation_config.json", R"({"eos_token_id": [128001, 128009]})");
  EXPECT_EQ(read_special_token_config(dir.path()).generation_eos_ids,
            (std::vector<std::int64_t>{128001, 128009}));
}

TEST(SpecialTokens, SpecialTokensMapOverridesConfig) {
  ScratchDir dir("special_map");
  dir.write("tokenizer_config.json", R"({"bos_token": "<s>", "eos_token": "</s>"})");
  dir.write(
      "special_tokens_map.json",
      R"({"eos_token": {"content": "<|im_end|>", "single_word": false}, "pad_token": "<pad>"})");
  SpecialTokenConfig config = read_special_token_config(dir.path());
  EXPECT_EQ(config.bos_token, "<s>");
  EXPECT_EQ(config.eos_token, "<|im_end|>");
  EXPECT_EQ(config.pad_token, "<pad>");
}

TEST(SpecialTokens, ChatTemplateListTakesDefault) {
  ScratchDir dir("special_tmpl_list");
  dir.write("tokenizer_config.json", R"({"chat_template": [
    {"name": "tool_use", "template": "TOOLS"}, {"name": "default", "template": "DEFAULT"}]})");
  EXPECT_EQ(read_special_token_config(dir.path()).chat_template, "DEFAULT");
}

TEST(SpecialTokens, ChatTemplateListWithoutDefaultIsUnset) {
  ScratchDir dir("special_tmpl_nodefault");
  dir.write("tokenizer_config.json", R"({"chat_template": [{"name": "rag", "template": "R"}]})");
  EXPECT_FALSE(read_special_token_config(dir.path()).chat_template);
}

// Each malformed file must give an error naming the file and the field.
TEST(SpecialTokens, RejectsMalformedFiles) {
  struct BadCase {
    const char* file;
    const char* text;
    const char* needle;  // the field, or the reason when there is no field
  };
  const BadCase cases[] = {
      {"tokenizer_config.json", R"({"bos_token": )", "invalid JSON"},
      {"special_tokens_map.json", "[1, 2]", "expected a JSON object"},
      {"tokenizer_config.json", R"({"eos_token": "a", "eos_token": "b"})", "eos_token"},
      {"tokenizer_config.json", R"({"bos_token": 1})", "bos_token"},
      {"special_tokens_map.json", R"({"unk_token": {"lstrip": false}})", "unk_token"},
      {"tokenizer_config.json", R"({"add_bos_token": "yes"})", "add_bos_token"},
      {"tokenizer_config.json", R"({"chat_template": 7})", "chat_template"},
      {"tokenizer_config.json", R"({"chat_template": [{"name": "default"}]})", "template"},
      {"tokenizer_config.json", R"({"chat_template": ["x"]})", "chat_template[0]"},
      {"generation_config.json", R"({"eos_token_id": "2"})", "eos_token_id"},
      {"generation_config.json", R"({"eos_token_id": -1})", "eos_token_id"},
      {"generation_config.json", R"({"eos_token_id": [2, 1.5]})", "eos_token_id"},
      {"generation_config.json", R"({"eos_token_id": 4294967296})", "eos_token_id"},
      {"generation_config.json", R"({"eos_token_id": [18446744073709551615]})", "eos_token_id"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.text);
    ScratchDir dir("special_bad");
    dir.write(c.file, c.text);
    testing::expect_error([&] { read_special_token_config(dir.path()); }, ErrorKind::kInvalidInput,
                          {c.file, c.needle});
  }
}

}  // namespace
}  // namespace enclave
