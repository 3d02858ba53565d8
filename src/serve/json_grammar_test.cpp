#include "serve/json_grammar.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <random>

#include "core/error.h"
#include "core/scratch_dir_testing.h"
#include "serve/token_grammar.h"
#include "text/bpe_trainer.h"

namespace enclave::serve {
namespace {

std::shared_ptr<const JsonGrammar> schema(const std::string& text, std::string prefix = "",
                                          std::string suffix = "") {
  return JsonGrammar::from_schema(nlohmann::json::parse(text), std::move(prefix),
                                  std::move(suffix));
}

// The text is a prefix the grammar can still complete.
bool prefix_ok(const std::shared_ptr<const JsonGrammar>& g, std::string_view text) {
  JsonMatcher m(g);
  return m.advance(text);
}

// The text is a whole document.
bool accepts(const std::shared_ptr<const JsonGrammar>& g, std::string_view text) {
  JsonMatcher m(g);
  return m.advance(text) && m.complete();
}

TEST(JsonGrammar, AnyObjectAcceptsJsonObjectsOnly) {
  const auto g = JsonGrammar::any_object();
  for (const char* ok : {"{}", R"({"a": [1, -2.5e3, "x\u00e9\n", true, null, {"b": {}}]})",
                         "{ \"k\" : 0 }", "{\"\xc3\xa9\": false}", "\n{\"a\":[]}"}) {
    EXPECT_TRUE(accepts(g, ok)) << ok;
  }
  for (const char* bad : {"[]", "\"x\"", "1", "{\"a\" 1}", "{,}", "{\"a\":1,}", "{\"a\":01}",
                          "{\"a\":tru}", "{\"a\":\"\x01\"}", "{\"a\":\"\\x\"}", "{}}", "{} "}) {
    EXPECT_FALSE(accepts(g, bad)) << bad;
  }
  EXPECT_TRUE(prefix_ok(g, "{\"a\": tr"));
  EXPECT_FALSE(prefix_ok(g, "{\"a\": tx"));
  EXPECT_TRUE(prefix_ok(g, "{\"a\": 1"));
  EXPECT_FALSE(accepts(g, "{\"a\": 1"));
}

TEST(JsonGrammar, WhitespaceInAGapIsBounded) {
  const auto g = JsonGrammar::any_object();
  // Compact with single spaces, or pretty-printed.
  EXPECT_TRUE(accepts(g, "{\"a\": [1, 2], \"b\": {}}"));
  EXPECT_TRUE(accepts(g, "{\n    \"a\": [\n        1\n    ]\n}"));
  EXPECT_TRUE(prefix_ok(g, "{\n" + std::string(kMaxIndent, ' ')));
  EXPECT_FALSE(prefix_ok(g, "{\n" + std::string(kMaxIndent + 1, ' ')));
  for (const char* bad : {"{  ", "{\n\n", "{ \n", "{\t", "{\r\n"}) {
    EXPECT_FALSE(prefix_ok(g, bad)) << bad;
  }
}

TEST(JsonGrammar, StringsAreValidUtf8AndCountCodePoints) {
  const auto g = schema(R"({"type": "string", "minLength": 1, "maxLength": 2})");
  EXPECT_TRUE(accepts(g, "\"\xc3\xa9\xc3\xa9\""));
  EXPECT_TRUE(accepts(g, "\"\\u00e9\\n\""));
  EXPECT_FALSE(prefix_ok(g, "\"\xc3\xa9\xc3\xa9\xc3"));  // a third character
  EXPECT_FALSE(accepts(g, "\"\""));                      // minLength
  EXPECT_FALSE(prefix_ok(g, "\"\xc3\""));                // a lead byte without its tail
  EXPECT_FALSE(prefix_ok(g, "\"\xed\xa0\x80"));          // a UTF-16 surrogate
  EXPECT_FALSE(prefix_ok(g, "\"\xc0\x80"));              // overlong
  EXPECT_TRUE(accepts(g, "\"\xf0\x9f\x98\x80\""));
}

TEST(JsonGrammar, SchemaObjectsFollowPropertiesAndRequired) {
  // nlohmann::json keeps keys sorted: the properties come as age, name, tags.
  const auto g = schema(R"({"type": "object", "properties": {
      "name": {"type": "string", "maxLength": 5},
      "age": {"type": "integer", "minimum": 0, "maximum": 120},
      "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2}},
      "required": ["name", "age"], "additionalProperties": false})");
  EXPECT_TRUE(accepts(g, R"({"age": 30, "name": "bob"})"));
  EXPECT_TRUE(accepts(g, R"({"age":0,"name":"","tags":["a","b"]})"));
  EXPECT_TRUE(accepts(g, R"({"age": 120, "name": "bob", "tags": []})"));
  EXPECT_FALSE(accepts(g, R"({"age": 121, "name": "bob"})"));
  EXPECT_FALSE(prefix_ok(g, R"({"age": 1200)"));
  EXPECT_FALSE(prefix_ok(g, R"({"age": -)"));
  EXPECT_FALSE(prefix_ok(g, R"({"age": 1.5)"));
  EXPECT_FALSE(prefix_ok(g, R"({"age": 5, "name": "toolong)"));
  EXPECT_FALSE(prefix_ok(g, R"({"age": 5})"));  // name is required
  EXPECT_FALSE(prefix_ok(g, R"({"colour")"));   // not a property
  EXPECT_FALSE(prefix_ok(g, R"({"age": 1, "name": "x", "tags": ["c)"));
  EXPECT_FALSE(prefix_ok(g, R"({"age": 1, "name": "x", "tags": ["a", "a", "a")"));
  EXPECT_FALSE(prefix_ok(g, R"({"age": 1, "name": "x",})"));
}

TEST(JsonGrammar, OptionalPropertiesMayBeLeftOut) {
  const auto g = schema(R"({"properties": {"a": {"type": "null"}, "b": {"type": "boolean"},
      "c": {"const": "x"}}, "required": ["c"]})");
  EXPECT_TRUE(accepts(g, R"({"c": "x"})"));
  EXPECT_TRUE(accepts(g, R"({"b": true, "c": "x"})"));
  EXPECT_TRUE(accepts(g, R"({"a": null, "b": false, "c": "x"})"));
  EXPECT_FALSE(accepts(g, R"({"a": null})"));
  EXPECT_FALSE(prefix_ok(g, R"({"c": "y)"));
}

TEST(JsonGrammar, AnyOfEnumConstAndTypeLists) {
  const auto g = schema(R"({"anyOf": [{"type": "string", "maxLength": 1},
      {"type": "integer", "exclusiveMinimum": 0}, {"type": "array", "items": {"type": ["null", "number"]}}]})");
  EXPECT_TRUE(accepts(g, R"("x")"));
  EXPECT_TRUE(accepts(g, "7"));
  EXPECT_TRUE(accepts(g, "[null, 1.5, -2e-3]"));
  EXPECT_FALSE(accepts(g, "0"));
  EXPECT_FALSE(accepts(g, R"("xy")"));
  EXPECT_FALSE(accepts(g, "[true]"));
  const auto e = schema(R"({"enum": ["red", 1, null, {"a": [1]}]})");
  for (const char* ok : {R"("red")", "1", "null", R"({"a":[1]})"})
    EXPECT_TRUE(accepts(e, ok)) << ok;
  EXPECT_FALSE(accepts(e, R"("re")"));
  EXPECT_FALSE(accepts(e, "12"));
}

TEST(JsonGrammar, NumberRanges) {
  const auto g = schema(R"({"type": "number", "minimum": -1.5, "maximum": 2.25})");
  for (const char* ok : {"-1.5", "0", "2.25", "2.2", "-0.75", "1"})
    EXPECT_TRUE(accepts(g, ok)) << ok;
  for (const char* bad : {"-1.6", "2.3", "3", "-2", "1e3"}) EXPECT_FALSE(accepts(g, bad)) << bad;
  const auto big = schema(R"({"type": "integer", "minimum": 100, "maximum": 250})");
  EXPECT_TRUE(prefix_ok(big, "1"));
  EXPECT_TRUE(prefix_ok(big, "2"));
  EXPECT_FALSE(prefix_ok(big, "3"));
  EXPECT_FALSE(prefix_ok(big, "26"));
  EXPECT_FALSE(accepts(big, "25"));
  EXPECT_TRUE(accepts(big, "250"));
  EXPECT_FALSE(prefix_ok(big, "0"));
}

TEST(JsonGrammar, PrefixAndSuffixFrameTheDocument) {
  const auto g =
      schema(R"({"type": "object", "properties": {"name": {"const": "f"}}, "required": ["name"]})",
             "<tool_call>\n", "\n</tool_call>");
  EXPECT_TRUE(accepts(g, "<tool_call>\n{\"name\": \"f\"}\n</tool_call>"));
  EXPECT_FALSE(accepts(g, "<tool_call>\n{\"name\": \"f\"}"));
  EXPECT_FALSE(prefix_ok(g, "{"));
  EXPECT_FALSE(prefix_ok(g, "<tool_call>\n{\"name\": \"f\"}\n</tool_call>x"));
}

TEST(JsonGrammar, LocalReferencesAsPydanticWritesThem) {
  // A nested model, a one-schema allOf around a $ref, and a recursive list.
  const auto g = schema(R"({"$defs": {
      "Address": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 5}},
                  "required": ["city"], "additionalProperties": false, "title": "Address"},
      "Node": {"type": "object", "properties": {"children": {"type": "array",
               "items": {"$ref": "#/$defs/Node"}}, "v": {"type": "integer"}}, "required": ["v"]}},
      "type": "object", "title": "Person", "required": ["home", "tree"],
      "properties": {"home": {"allOf": [{"$ref": "#/$defs/Address"}], "description": "where"},
                     "tree": {"$ref": "#/$defs/Node"}}})");
  EXPECT_TRUE(
      accepts(g, R"({"home": {"city": "Oslo"}, "tree": {"children": [{"v": 2}], "v": 1}})"));
  EXPECT_TRUE(accepts(
      g,
      R"({"home": {"city": "Oslo"}, "tree": {"children": [{"children": [], "v": 3}], "v": 1}})"));
  EXPECT_FALSE(prefix_ok(g, R"({"home": {"city": "Bergen)"));
  EXPECT_FALSE(prefix_ok(g, R"({"home": {"town")"));
  EXPECT_FALSE(accepts(g, R"({"home": {"city": "Oslo"}, "tree": {"children": [{}], "v": 1}})"));
}

TEST(JsonGrammar, StateKeysIgnoreCountsNoLimitReads) {
  const auto g = JsonGrammar::from_schema(nlohmann::json::parse(
      R"({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string",
          "maxLength": 9}}, "required": ["a", "b"]})"));
  JsonMatcher x(g), y(g);
  ASSERT_TRUE(x.advance(R"({"a": "ab)"));
  ASSERT_TRUE(y.advance(R"({"a": "abcdef)"));
  EXPECT_EQ(x.state_key(), y.state_key());  // unbounded: same future
  ASSERT_TRUE(x.advance(R"(", "b": "ab)"));
  ASSERT_TRUE(y.advance(R"(", "b": "abcdef)"));
  EXPECT_NE(x.state_key(), y.state_key());  // maxLength: different room left
}

TEST(JsonGrammar, UnsupportedKeywordsAreNamed) {
  const auto path_of = [](const std::string& text) {
    try {
      JsonGrammar::from_schema(nlohmann::json::parse(text));
    } catch (const SchemaError& e) {
      return e.path();
    }
    return std::string("(accepted)");
  };
  EXPECT_EQ(
      path_of(R"({"type": "object", "properties": {"a": {"type": "string", "pattern": "x"}}})"),
      "properties.a.pattern");
  EXPECT_EQ(path_of(R"({"$ref": "#/x"})"), "$ref");
  EXPECT_EQ(path_of(R"({"$ref": "http://example.com/s.json"})"), "$ref");
  EXPECT_EQ(path_of(R"({"$defs": {"A": {"format": "email"}}, "$ref": "#/$defs/A"})"),
            "$defs.A.format");
  EXPECT_EQ(path_of(R"({"allOf": [{}, {}]})"), "allOf");
  EXPECT_EQ(path_of(R"({"oneOf": []})"), "oneOf");
  EXPECT_EQ(path_of(R"({"type": "strin"})"), "type");
  EXPECT_EQ(path_of(R"({"type": "object", "properties": {}, "required": ["a"]})"), "required");
  EXPECT_EQ(path_of(R"({"type": "string", "minLength": 3, "maxLength": 2})"), "minLength");
  EXPECT_EQ(path_of(R"({"type": "object", "description": "d", "title": "t"})"), "(accepted)");
}

TEST(VocabTrie, MasksTokensTheGrammarRefuses) {
  // id: bytes
  const std::vector<std::pair<TokenId, std::string>> vocab = {
      {0, "{"}, {1, "\""},   {2, "a"},  {3, "}"}, {4, "{\""},
      {5, " "}, {6, "a\":"}, {7, "1}"}, {8, "x"}, {9, "}}"}};
  auto trie = std::make_shared<const VocabTrie>(vocab);
  GrammarConstraint c(JsonGrammar::any_object(), trie, {10});
  const auto allowed = [&] {
    std::vector<float> logits(11, 0.0f);
    c.mask(logits);
    std::vector<int> ids;
    for (int i = 0; i < 11; ++i) {
      if (logits[static_cast<std::size_t>(i)] == 0.0f) ids.push_back(i);
    }
    return ids;
  };
  EXPECT_EQ(allowed(), (std::vector<int>{0, 4, 5}));
  c.accept(4);
  // Inside the key every text token fits (each is string characters, or
  // ends the key where what follows fits).
  EXPECT_EQ(allowed(), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  c.accept(6);
  EXPECT_EQ(allowed(), (std::vector<int>{0, 1, 4, 5, 7}));  // a value begins
  c.accept(7);
  EXPECT_EQ(allowed(), (std::vector<int>{10}));  // complete: only the stop id
  EXPECT_THROW(c.accept(0), Error);
}

// The bytes of a text's tokens, joined, are the text: what the grammar
// reads is what the client receives.
void expect_token_bytes_spell(const Tokenizer& tokenizer, const std::string& text,
                              const std::string& prefix = "") {
  std::string joined;
  for (TokenId id : tokenizer.encode(text, /*add_special=*/false)) {
    std::optional<std::string> bytes = token_bytes(tokenizer, id);
    ASSERT_TRUE(bytes.has_value()) << id;
    joined += *bytes;
  }
  EXPECT_EQ(joined, prefix + text);
}

TEST(VocabTrie, ByteLevelTokensSpellTheirText) {
  enclave::testing::ScratchDir dir("token-bytes");
  write_default_tokenizer(dir.path(), 1024);
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(dir.path());
  expect_token_bytes_spell(*tokenizer, "{\"name\": \"caf\xc3\xa9\",\n  \"n\": [1, 2.5]}");
  expect_token_bytes_spell(*tokenizer, " leading space and \xed\x95\x9c\xea\xb5\xad\xec\x96\xb4");
  ASSERT_TRUE(tokenizer->eos_id().has_value());
  EXPECT_FALSE(token_bytes(*tokenizer, *tokenizer->eos_id()).has_value());  // special
}

TEST(VocabTrie, SentencePiecePiecesBecomeSpacesAndBytes) {
  enclave::testing::ScratchDir dir("token-bytes-sp");
  // A SentencePiece-style tokenizer.json (Llama 2 / Mistral): "\u2581" for
  // spaces, byte fallback for what the vocabulary lacks.
  std::ofstream(dir.path() / "tokenizer.json") << R"({
    "version": "1.0", "added_tokens": [{"id": 0, "content": "<unk>", "special": true,
      "single_word": false, "lstrip": false, "rstrip": false, "normalized": false}],
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
      {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
    "pre_tokenizer": null, "post_processor": null,
    "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"},
      "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
      {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
    "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>", "fuse_unk": true,
      "vocab": {"<unk>": 0, "<0x7B>": 1, "<0x7D>": 2, "<0x22>": 3, "<0x3A>": 4, "\u2581": 5, "a": 6,
                "\u2581a": 7},
      "merges": ["\u2581 a"]}})";
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(dir.path());
  EXPECT_EQ(token_bytes(*tokenizer, 1), "{");
  EXPECT_EQ(token_bytes(*tokenizer, 5), " ");
  EXPECT_EQ(token_bytes(*tokenizer, 7), " a");
  // The normalizer prepends a space, which the decoder's Strip drops from
  // the text again: the grammar sees one more leading blank than the client,
  // which JSON allows.
  expect_token_bytes_spell(*tokenizer, " {\"a\": a}", " ");
}

TEST(VocabTrie, MaskOfALargeVocabularyIsFast) {
  // 128k random tokens of 1-12 bytes, mostly letters, as in real vocabularies.
  std::mt19937 rng(7);
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789 _-.,:\"{}[]\n";
  std::vector<std::pair<TokenId, std::string>> vocab;
  for (TokenId id = 0; id < 128000; ++id) {
    std::string s(1 + rng() % 12, ' ');
    for (char& ch : s) ch = alphabet[rng() % alphabet.size()];
    vocab.emplace_back(id, s);
  }
  auto trie = std::make_shared<const VocabTrie>(vocab);
  JsonMatcher in_string(JsonGrammar::any_object());
  ASSERT_TRUE(in_string.advance("{\"key\": \"some text "));
  std::vector<std::uint8_t> allowed(vocab.size(), 0);
  const auto start = std::chrono::steady_clock::now();
  trie->allowed(in_string, allowed);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  int n_allowed = 0;
  for (std::uint8_t a : allowed) n_allowed += a;
  std::printf("mask of 128000 tokens inside a string: %.1f ms, %d allowed\n", ms, n_allowed);
  EXPECT_GT(n_allowed, 60000);
  EXPECT_LT(ms, 2000);

  // Inside one string the constraint walks the trie once and reuses the mask.
  GrammarConstraint c(JsonGrammar::any_object(), trie, {});
  ASSERT_TRUE(const_cast<JsonMatcher&>(c.matcher()).advance("{\"key\": \"some text "));
  std::vector<float> first(vocab.size(), 0.0f), second(vocab.size(), 0.0f);
  c.mask(first);
  TokenId letters = 0;
  while (trie->bytes(letters).find_first_of("\"\\\n") != std::string::npos) ++letters;
  c.accept(letters);
  const auto again = std::chrono::steady_clock::now();
  c.mask(second);
  const double cached_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - again).count();
  std::printf("the next token's mask in the same string: %.1f ms\n", cached_ms);
  EXPECT_EQ(first, second);
  EXPECT_LT(cached_ms, ms);
}

}  // namespace
}  // namespace enclave::serve
