#include "text/pre_tokenizers.h"

#include <gtest/gtest.h>

#include "text/tokenizer_json_testing.h"

namespace enclave {
namespace {

using testing::expect_error;
using Pieces = std::vector<std::string>;

PreTokenizer parse(const std::string& json) {
  static testing::JsonDocs docs;
  return PreTokenizer::from_json(docs.parse(json, "tokenizer.json", "pre_tokenizer"));
}

// HF's documented example: "the-final--countdown" split on "-".
Pieces split_countdown(SplitBehavior behavior, bool invert = false) {
  const std::string text = "the-final--countdown";
  const std::vector<ByteRange> dashes = {{3, 4}, {9, 10}, {10, 11}};
  Pieces out;
  for (const ByteRange& r : split_by_matches(text.size(), dashes, behavior, invert)) {
    out.push_back(text.substr(r.first, r.second - r.first));
  }
  return out;
}

TEST(PreTokenizers, SplitBehaviorsMatchHuggingFaceDocs) {
  EXPECT_EQ(split_countdown(SplitBehavior::kRemoved), (Pieces{"the", "final", "countdown"}));
  EXPECT_EQ(split_countdown(SplitBehavior::kIsolated),
            (Pieces{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(split_countdown(SplitBehavior::kMergedWithPrevious),
            (Pieces{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(split_countdown(SplitBehavior::kMergedWithNext),
            (Pieces{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(split_countdown(SplitBehavior::kContiguous),
            (Pieces{"the", "-", "final", "--", "countdown"}));
  EXPECT_EQ(split_countdown(SplitBehavior::kRemoved, /*invert=*/true), (Pieces{"-", "-", "-"}));
}

TEST(PreTokenizers, Llama3Layout) {
  const PreTokenizer p = parse(R"({"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
       "behavior": "Isolated", "invert": false},
      {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]})");
  EXPECT_TRUE(p.is_byte_level());
  EXPECT_EQ(p.pre_tokenize("Hello world 2024\n", true),
            (Pieces{"Hello", "Ġworld", "Ġ", "202", "4", "Ċ"}));
}

// The Split steps of published tokenizer.json files (DeepSeek-V3, Mistral
// Nemo), with the pieces Hugging Face's JavaScript port (@lenml/tokenizers)
// gives for the same text.
TEST(PreTokenizers, DeepSeekV3Layout) {
  const PreTokenizer p = parse(R"({"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}"}, "behavior": "Isolated", "invert": false},
      {"type": "Split", "pattern": {"Regex": "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+"},
       "behavior": "Isolated", "invert": false},
      {"type": "Split", "pattern": {"Regex": "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"},
       "behavior": "Isolated", "invert": false}]})");
  EXPECT_EQ(p.pre_tokenize("DeepSeek-V3: 671B 参数、日本語のテキスト。", true),
            (Pieces{"DeepSeek", "-V", "3", ":", " ", "671", "B", " ", "参数", "、",
                    "日本語のテキスト", "。"}));
  EXPECT_EQ(
      p.pre_tokenize("HTTPServer isOK McDonald's 1234567 digits.", true),
      (Pieces{"HTTPServer", " isOK", " McDonald", "'s", " ", "123", "456", "7", " digits", "."}));
  EXPECT_EQ(p.pre_tokenize("x=foo(\"bar\");\n\n\tif (a) {", true),
            (Pieces{"x", "=foo", "(\"", "bar", "\");\n\n", "\tif", " (", "a", ")", " {"}));
}

TEST(PreTokenizers, MistralNemoCaseSplit) {
  const PreTokenizer p = parse(
      R"({"type": "Split", "pattern": {"Regex": "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
      "behavior": "Isolated", "invert": false})");
  EXPECT_EQ(p.pre_tokenize("HTTPServer isOK McDonald's iPhone 671", true),
            (Pieces{"HTTPServer", " is", "OK", " Mc", "Donald", "'s", " i", "Phone", " ", "6", "7",
                    "1"}));
  EXPECT_EQ(p.pre_tokenize("DeepSeek 参数、日本語", true),
            (Pieces{"Deep", "Seek", " 参数", "、日本語"}));
}

TEST(PreTokenizers, RegexSplitBehaviorsAndInvert) {
  const std::string base = R"({"type": "Split", "pattern": {"Regex": "-+"}, )";
  EXPECT_EQ(
      parse(base + R"("behavior": "MergedWithNext"})").pre_tokenize("the-final--countdown", true),
      (Pieces{"the", "-final", "--countdown"}));
  EXPECT_EQ(parse(base + R"("behavior": "Removed", "invert": true})")
                .pre_tokenize("the-final--countdown", true),
            (Pieces{"-", "--"}));
  // An empty match separates the parts around it, as in HF: "a" and "b" are
  // not joined although both are non-matches.
  EXPECT_EQ(parse(R"({"type": "Split", "pattern": {"Regex": "x*"}, "behavior": "Contiguous"})")
                .pre_tokenize("ab", true),
            (Pieces{"a", "b"}));
}

TEST(PreTokenizers, Gpt2ByteLevel) {
  const PreTokenizer p =
      parse(R"({"type": "ByteLevel", "add_prefix_space": true, "use_regex": true})");
  EXPECT_EQ(p.pre_tokenize("Hello world", true), (Pieces{"ĠHello", "Ġworld"}));
  EXPECT_EQ(p.pre_tokenize(" é", true), (Pieces{"ĠÃ©"}));
}

TEST(PreTokenizers, Metaspace) {
  const std::string base = R"({"type": "Metaspace", "replacement": "▁", )";
  EXPECT_EQ(parse(base + R"("prepend_scheme": "always", "split": true})")
                .pre_tokenize("Hello  world", false),
            (Pieces{"▁Hello", "▁", "▁world"}));
  EXPECT_EQ(parse(base + R"("prepend_scheme": "first", "split": false})")
                .pre_tokenize("Hello world", true),
            (Pieces{"▁Hello▁world"}));
  EXPECT_EQ(parse(base + R"("prepend_scheme": "first", "split": false})")
                .pre_tokenize("Hello world", false),
            (Pieces{"Hello▁world"}));
  EXPECT_EQ(parse(base + R"("prepend_scheme": "never", "split": false})").pre_tokenize(" x", true),
            (Pieces{"▁x"}));
  // The older format: add_prefix_space instead of prepend_scheme.
  EXPECT_EQ(parse(base + R"("add_prefix_space": true})").pre_tokenize("a b", false),
            (Pieces{"▁a", "▁b"}));
}

TEST(PreTokenizers, DigitsAndStringSplit) {
  EXPECT_EQ(parse(R"({"type": "Digits", "individual_digits": true})").pre_tokenize("ab12c", true),
            (Pieces{"ab", "1", "2", "c"}));
  EXPECT_EQ(parse(R"({"type": "Digits", "individual_digits": false})").pre_tokenize("ab12c", true),
            (Pieces{"ab", "12", "c"}));
  EXPECT_EQ(parse(R"({"type": "Split", "pattern": {"String": ", "}, "behavior": "Removed"})")
                .pre_tokenize("a, b, c", true),
            (Pieces{"a", "b", "c"}));
  EXPECT_EQ(parse("null").pre_tokenize("one word", true), (Pieces{"one word"}));
  EXPECT_TRUE(parse("null").pre_tokenize("", true).empty());
}

TEST(PreTokenizers, BadInput) {
  expect_error(
      [] {
        parse(R"({"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "\\p{Lx}+"}, "behavior": "Isolated"}]})");
      },
      ErrorKind::kInvalidInput,
      {"tokenizer.json", "pre_tokenizer.pretokenizers[0].pattern.Regex", "\\p{Lx}+",
       "invalid character property name {Lx}"});
  expect_error(
      [] {
        parse(R"({"type": "Split", "pattern": {"Regex": "(a+)+b"}, "behavior": "Isolated"})")
            .pre_tokenize(std::string(40, 'a'), true);
      },
      ErrorKind::kInvalidInput, {"pre_tokenizer.pattern.Regex", "retry-limit-in-match over"});
  expect_error([] { parse(R"({"type": "Whitespace"})"); }, ErrorKind::kUnsupported,
               {"pre_tokenizer.type", "Whitespace"});
  expect_error(
      [] { parse(R"({"type": "Split", "pattern": {"String": "-"}, "behavior": "Sideways"})"); },
      ErrorKind::kInvalidInput, {"pre_tokenizer.behavior", "Sideways"});
  expect_error([] { parse(R"({"type": "Split", "pattern": "-", "behavior": "Removed"})"); },
               ErrorKind::kInvalidInput, {"pre_tokenizer.pattern", "expected an object"});
  expect_error(
      [] { parse(R"({"type": "Metaspace", "replacement": "", "prepend_scheme": "always"})"); },
      ErrorKind::kInvalidInput, {"pre_tokenizer.replacement"});
  expect_error(
      [] { parse(R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "sometimes"})"); },
      ErrorKind::kInvalidInput, {"pre_tokenizer.prepend_scheme", "sometimes"});
  expect_error(
      [] {
        parse(
            R"({"type": "Sequence", "pretokenizers": [{"type": "ByteLevel", "use_regex": "yes"}]})");
      },
      ErrorKind::kInvalidInput, {"pre_tokenizer.pretokenizers[0].use_regex"});
}

}  // namespace
}  // namespace enclave
