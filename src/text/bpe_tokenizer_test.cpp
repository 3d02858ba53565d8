#include "text/bpe_tokenizer.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "text/byte_level.h"
#include "text/chat_sp_testing.h"
#include "text/tokenizer_json_testing.h"
#include "text/utf8.h"

namespace enclave {
namespace {

using nlohmann::json;
using testing::expect_error;
using Ids = std::vector<TokenId>;

json special_token(int id, const std::string& content, bool special = true) {
  return {{"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", false}, {"special", special}};
}

// A Llama 2 layout tokenizer.json written by hand: <unk> <s> </s>, 256 byte
// pieces, then a few pieces whose merges build "▁Hello" and "▁world".
json llama2_tokenizer() {
  json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  for (int b = 0; b < 256; ++b) vocab[fmt::format("<0x{:02X}>", b)] = 3 + b;
  const std::vector<std::string> pieces = {
      "▁",  "H",  "e",    "l",     "o",    "w",     "r",      "d",     "ll",    "He",
      "▁w", "or", "Hell", "▁Hell", "▁wor", "Hello", "▁Hello", "▁worl", "▁world"};
  for (std::size_t i = 0; i < pieces.size(); ++i) vocab[pieces[i]] = 259 + static_cast<int>(i);
  return {{"version", "1.0"},
          {"added_tokens",
           {special_token(0, "<unk>"), special_token(1, "<s>"), special_token(2, "</s>")}},
          {"normalizer",
           {{"type", "Sequence"},
            {"normalizers",
             {{{"type", "Prepend"}, {"prepend", "▁"}},
              {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "▁"}}}}}},
          {"pre_tokenizer", nullptr},
          {"post_processor",
           {{"type", "TemplateProcessing"},
            {"single",
             {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
            {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
          {"decoder",
           {{"type", "Sequence"},
            {"decoders",
             {{{"type", "Replace"}, {"pattern", {{"String", "▁"}}}, {"content", " "}},
              {{"type", "ByteFallback"}},
              {{"type", "Fuse"}},
              {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", "<unk>"},
            {"fuse_unk", true},
            {"byte_fallback", true},
            {"vocab", vocab},
            {"merges",
             {"l l", "H e", "▁ w", "o r", "He ll", "▁ Hell", "▁w or", "Hell o", "▁Hell o", "▁wor l",
              "▁worl d"}}}}};
}

// A GPT-2 layout tokenizer.json: 256 byte symbols (id = byte) and merges for
// "Hello" and "Ġworld", plus added tokens.
json gpt2_tokenizer() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_level_char(static_cast<std::uint8_t>(b))] = b;
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"Ġ", "w"}, {"o", "r"}, {"Ġw", "or"}, {"l", "d"},   {"Ġwor", "ld"},
      {"H", "e"}, {"l", "l"}, {"He", "ll"}, {"Hell", "o"}};
  json merge_list = json::array();
  int next = 256;
  for (const auto& [a, b] : merges) {
    vocab[a + b] = next++;  // 256 Ġw, 257 or, 258 Ġwor, 259 ld, 260 Ġworld, 261 He, 262 ll, 263
                            // Hell, 264 Hello
    merge_list.push_back(a + " " + b);
  }
  json mask = special_token(266, "<mask>");
  mask["lstrip"] = true;
  json x = special_token(267, "[X]", false);
  x["rstrip"] = true;
  json tok = special_token(268, "tok", false);
  tok["single_word"] = true;
  return {{"added_tokens", {special_token(265, "<|endoftext|>"), mask, x, tok}},
          {"normalizer", nullptr},
          {"pre_tokenizer",
           {{"type", "ByteLevel"},
            {"add_prefix_space", false},
            {"trim_offsets", true},
            {"use_regex", true}}},
          {"post_processor", {{"type", "ByteLevel"}, {"trim_offsets", false}}},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}}}};
}

std::unique_ptr<Tokenizer> make(const json& doc, const SpecialTokenConfig& specials = {}) {
  return parse_bpe_tokenizer(doc.dump(), "model/tokenizer.json", specials);
}

TEST(BpeTokenizer, Llama2LayoutGivesExpectedIds) {
  SpecialTokenConfig specials;
  specials.bos_token = "<s>";
  specials.eos_token = "</s>";
  auto t = make(llama2_tokenizer(), specials);
  EXPECT_EQ(t->kind(), "bpe-sentencepiece");
  EXPECT_EQ(t->vocab_size(), 278u);
  EXPECT_EQ(t->bos_id(), 1);
  EXPECT_EQ(t->eos_id(), 2);
  EXPECT_EQ(t->encode("Hello world"), (Ids{1, 275, 277}));
  EXPECT_EQ(t->encode("Hello world", /*add_special=*/false), (Ids{275, 277}));
  // é is not a piece: byte fallback to <0xC3> <0xA9>.
  EXPECT_EQ(t->encode("Hé", false), (Ids{259, 260, 3 + 0xC3, 3 + 0xA9}));
  // Each segment between special tokens gets its own "▁", as HF's legacy Llama tokenizer.
  EXPECT_EQ(t->encode("<s>Hello</s>", false), (Ids{1, 275, 2}));
  const Ids literal = t->encode("<s>Hello", false, /*parse_special=*/false);
  EXPECT_EQ(std::count(literal.begin(), literal.end(), 1), 0);
  EXPECT_EQ(t->decode(literal), "<s>Hello");
  EXPECT_EQ(t->decode({1, 275, 277}), "Hello world");
  EXPECT_EQ(t->decode({1, 275, 277}, /*skip_special=*/false), "<s> Hello world");
  EXPECT_EQ(t->id_to_piece(275), "▁Hello");
  EXPECT_EQ(t->id_to_piece(1), "<s>");
  EXPECT_EQ(t->id_to_piece(5000), "");
  EXPECT_EQ(t->piece_to_id("<0x0A>"), 13);
  EXPECT_TRUE(t->is_special(2));
  EXPECT_FALSE(t->is_special(275));
  EXPECT_EQ(t->decode({275, 99999, -4, 277}), "Hello world");  // ids with no piece are skipped
}

TEST(BpeTokenizer, MistralMetaspaceLayout) {
  json doc = llama2_tokenizer();
  doc["normalizer"] = nullptr;
  doc["pre_tokenizer"] = {
      {"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "first"}, {"split", false}};
  doc["decoder"] = {{"type", "Sequence"},
                    {"decoders",
                     {{{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "first"}},
                      {{"type", "ByteFallback"}},
                      {{"type", "Fuse"}}}}};
  auto t = make(doc);
  EXPECT_EQ(t->bos_id(), 1);  // from the template
  EXPECT_EQ(t->encode("Hello world"), (Ids{1, 275, 277}));
  // "first": only the segment at the start of the input gets "▁".
  EXPECT_EQ(t->encode("<s>Hello", false), (Ids{1, 274}));
  EXPECT_EQ(t->decode(t->encode("Hello world")), "Hello world");
}

TEST(BpeTokenizer, RoundTrips) {
  const std::vector<std::string> texts = {
      "Hello world",
      "The quick brown fox, 123 times!",
      "한국어 문장입니다. 안녕하세요?",
      "👍🏽 and 👨‍👩‍👧‍👦 and 🇰🇷",
      "  leading\tand\ttrailing  \n\n\r\n mixed whitespace \u3000 ",
      "",
      "x",
  };
  for (const json& doc : {llama2_tokenizer(), gpt2_tokenizer()}) {
    auto t = make(doc);
    for (const std::string& text : texts) {
      EXPECT_EQ(t->decode(t->encode(text)), text) << t->kind() << ": " << text;
    }
    // Invalid UTF-8 is repaired before tokenizing, so the round trip gives
    // the U+FFFD-replaced input.
    const std::string bad = "ok \xFF bad \xE2\x82 end \xF0\x9F";
    EXPECT_EQ(t->decode(t->encode(bad)), sanitize_utf8(bad)) << t->kind();
  }
}

TEST(BpeTokenizer, Gpt2LayoutAndAddedTokens) {
  auto t = make(gpt2_tokenizer());
  EXPECT_EQ(t->kind(), "bpe-byte-level");
  EXPECT_EQ(t->vocab_size(), 269u);
  EXPECT_EQ(t->bos_id(), std::nullopt);
  EXPECT_EQ(t->encode("Hello world"), (Ids{264, 260}));
  EXPECT_EQ(t->encode("Hello world<|endoftext|>"), (Ids{264, 260, 265}));
  EXPECT_EQ(t->decode({264, 260, 265}), "Hello world");
  EXPECT_EQ(t->decode({264, 260, 265}, false), "Hello world<|endoftext|>");
  // parse_special=false: special tokens are text, other added tokens still match.
  const Ids plain = t->encode("<|endoftext|>[X]", true, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 265), 0);
  EXPECT_EQ(plain.back(), 267);
  // lstrip: "<mask>" takes the space before it; rstrip: "[X]" the spaces after.
  EXPECT_EQ(t->encode("Hello <mask> world"), (Ids{264, 266, 260}));
  EXPECT_EQ(t->encode("Hello[X]   world"), (Ids{264, 267, 'w', 257, 259}));
  // single_word: "tok" inside "tokens" is not the added token.
  EXPECT_EQ(t->encode("tok"), (Ids{268}));
  const Ids tokens = t->encode("tokens");
  EXPECT_EQ(std::count(tokens.begin(), tokens.end(), 268), 0);
  EXPECT_EQ(t->decode(tokens), "tokens");
}

TEST(BpeTokenizer, SpecialTokenSettings) {
  SpecialTokenConfig specials;
  specials.bos_token = "<s>";
  specials.eos_token = "</s>";
  specials.add_bos_token = false;
  specials.add_eos_token = true;
  auto t = make(llama2_tokenizer(), specials);
  EXPECT_EQ(t->encode("Hello"), (Ids{275, 2}));

  specials.add_bos_token.reset();
  specials.add_eos_token.reset();
  specials.generation_eos_ids = {2, 0};
  specials.chat_template = "{{ '<|im_start|>' + message['content'] + '<|im_end|>' }}";
  json doc = gpt2_tokenizer();
  doc["added_tokens"].push_back(special_token(269, "<|im_end|>"));
  specials.bos_token.reset();
  specials.eos_token = "<|endoftext|>";
  auto chat = make(doc, specials);
  EXPECT_EQ(chat->stop_ids(), (Ids{265, 2, 0, 269}));

  specials.bos_token = "<|begin_of_text|>";
  expect_error([&] { make(doc, specials); }, ErrorKind::kInvalidInput,
               {"bos_token", "<|begin_of_text|>"});
  specials.bos_token.reset();
  specials.generation_eos_ids = {5000};
  expect_error([&] { make(doc, specials); }, ErrorKind::kInvalidInput,
               {"generation_config.json", "5000"});
}

TEST(BpeTokenizer, MalformedFiles) {
  auto bad = [](const std::string& text) { parse_bpe_tokenizer(text, "model/tokenizer.json", {}); };
  expect_error([&] { bad("{not json"); }, ErrorKind::kInvalidInput,
               {"model/tokenizer.json", "invalid JSON"});
  expect_error([&] { bad("[]"); }, ErrorKind::kInvalidInput,
               {"model/tokenizer.json", "expected an object"});
  expect_error([&] { bad(R"({"version": "1.0"})"); }, ErrorKind::kInvalidInput,
               {"model/tokenizer.json", "'model'"});
  expect_error([&] { bad(R"({"model": {"type": "BPE", "vocab": {}}, "model": {}})"); },
               ErrorKind::kInvalidInput, {"duplicate"});
  expect_error([&] { bad(R"({"model": {"type": "WordLevel", "vocab": {}, "unk_token": "x"}})"); },
               ErrorKind::kUnsupported, {"model/tokenizer.json", "model.type", "WordLevel"});

  json doc = gpt2_tokenizer();
  doc["model"]["merges"].push_back("Hello zz");
  expect_error([&] { make(doc); }, ErrorKind::kInvalidInput,
               {"model/tokenizer.json", "model.merges[9]", "'zz'"});
  doc = gpt2_tokenizer();
  doc["pre_tokenizer"] = {
      {"type", "Split"}, {"pattern", {{"Regex", "[a-z"}}}, {"behavior", "Isolated"}};
  expect_error([&] { make(doc); }, ErrorKind::kInvalidInput,
               {"model/tokenizer.json", "pre_tokenizer.pattern.Regex", "'[a-z'",
                "premature end of char-class"});
  doc = gpt2_tokenizer();
  doc["added_tokens"][1].erase("content");
  expect_error([&] { make(doc); }, ErrorKind::kInvalidInput,
               {"added_tokens[1].content", "missing"});
  doc = gpt2_tokenizer();
  doc["added_tokens"] = {{"not", "a list"}};
  expect_error([&] { make(doc); }, ErrorKind::kInvalidInput, {"added_tokens", "expected an array"});
  doc = gpt2_tokenizer();
  doc["added_tokens"].push_back(special_token(265, "<|other|>"));
  expect_error([&] { make(doc); }, ErrorKind::kInvalidInput, {"added_tokens[4].id", "twice"});
  doc = llama2_tokenizer();
  doc["post_processor"]["single"][0]["SpecialToken"]["id"] = "<bos>";
  expect_error([&] { make(doc); }, ErrorKind::kInvalidInput,
               {"post_processor.single[0].SpecialToken.id", "<bos>"});
  doc = llama2_tokenizer();
  doc["post_processor"]["special_tokens"]["<s>"]["ids"] = {100000};
  expect_error([&] { make(doc); }, ErrorKind::kInvalidInput, {"post_processor", "100000"});
  doc = llama2_tokenizer();
  doc["post_processor"] = {{"type", "BertProcessing"}, {"cls", {"<s>", 1}}, {"sep", {"</s>"}}};
  expect_error([&] { make(doc); }, ErrorKind::kInvalidInput, {"post_processor.sep", "[token, id]"});
  doc["post_processor"] = {{"type", "Mystery"}};
  expect_error([&] { make(doc); }, ErrorKind::kUnsupported, {"post_processor.type", "Mystery"});
}

TEST(LoadTokenizer, FindsTheFilesOfAModelDirectory) {
  testing::ScratchDir dir("load_tokenizer");
  expect_error([&] { load_tokenizer(dir.path() / "missing"); }, ErrorKind::kNotFound, {"missing"});
  expect_error([&] { load_tokenizer(dir.path()); }, ErrorKind::kNotFound,
               {"tokenizer.json or tokenizer.model"});
  dir.write("tokenizer.json", "{\"model\": 3}");
  expect_error([&] { load_tokenizer(dir.path()); }, ErrorKind::kInvalidInput,
               {(dir.path() / "tokenizer.json").string(), "'model'"});
  dir.write("tokenizer.json", llama2_tokenizer().dump());
  dir.write("tokenizer_config.json",
            R"({"bos_token": {"content": "<s>"}, "eos_token": "</s>", "add_bos_token": false})");
  auto t = load_tokenizer(dir.path());
  EXPECT_EQ(t->kind(), "bpe-sentencepiece");
  EXPECT_EQ(t->eos_id(), 2);
  EXPECT_EQ(t->encode("Hello"), (Ids{275}));
  EXPECT_EQ(t->stop_ids(), (Ids{2}));
}

}  // namespace
}  // namespace enclave
