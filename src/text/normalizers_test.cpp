#include "text/normalizers.h"

#include <gtest/gtest.h>

#include "text/tokenizer_json_testing.h"

namespace enclave {
namespace {

using testing::expect_error;

Normalizer parse(const std::string& json) {
  static testing::JsonDocs docs;
  return Normalizer::from_json(docs.parse(json, "tokenizer.json", "normalizer"));
}

TEST(Normalizers, NullIsIdentity) {
  EXPECT_TRUE(parse("null").is_identity());
  EXPECT_EQ(parse("null").normalize("As Is  "), "As Is  ");
}

TEST(Normalizers, Llama2PrependAndReplace) {
  const Normalizer n = parse(R"({"type": "Sequence", "normalizers": [
      {"type": "Prepend", "prepend": "▁"},
      {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]})");
  EXPECT_EQ(n.normalize("Hello world"), "▁Hello▁world");
  EXPECT_EQ(n.normalize(" two  spaces"), "▁▁two▁▁spaces");
  EXPECT_EQ(n.normalize(""), "");  // Prepend leaves empty text alone
}

TEST(Normalizers, RegexReplace) {
  const Normalizer n =
      parse(R"({"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "})");
  EXPECT_EQ(n.normalize("a  b     c d"), "a b c d");
  // A pattern that matches the empty string inserts content between
  // characters (the onig crate skips the empty match right after "b"), and
  // leaves empty text alone, as HF does.
  const Normalizer empty =
      parse(R"({"type": "Replace", "pattern": {"Regex": "b*"}, "content": "-"})");
  EXPECT_EQ(empty.normalize("abc"), "-a-c-");
  EXPECT_EQ(empty.normalize(""), "");
}

TEST(Normalizers, UnicodeForms) {
  EXPECT_EQ(parse(R"({"type": "NFC"})").normalize("e\u0301"), "\u00e9");
  EXPECT_EQ(parse(R"({"type": "NFD"})").normalize("\u00e9"), "e\u0301");
  EXPECT_EQ(parse(R"({"type": "NFKC"})").normalize("\ufb01 \u2460"), "fi 1");
  EXPECT_EQ(parse(R"({"type": "NFKD"})").normalize("\u00e9\u2460"), "e\u03011");
  // Lowercase handles final sigma as Rust's to_lowercase does.
  EXPECT_EQ(parse(R"({"type": "Lowercase"})").normalize("HELLO Ä ΣΑΣ"), "hello ä σας");
  EXPECT_EQ(
      parse(R"({"type": "Strip", "strip_left": true, "strip_right": false})").normalize(" \t x \n"),
      "x \n");
}

TEST(Normalizers, BadInput) {
  expect_error([] { parse(R"({"type": "BertNormalizer"})"); }, ErrorKind::kUnsupported,
               {"tokenizer.json", "normalizer.type", "BertNormalizer"});
  expect_error([] { parse(R"({"type": "Replace", "pattern": {"Regex": " +("}, "content": "▁"})"); },
               ErrorKind::kInvalidInput,
               {"normalizer.pattern.Regex", "' +('", "end pattern with unmatched parenthesis"});
  expect_error([] { parse(R"({"type": "Prepend"})"); }, ErrorKind::kInvalidInput,
               {"normalizer.prepend", "missing"});
  expect_error([] { parse(R"({"type": "Sequence", "normalizers": {"type": "NFC"}})"); },
               ErrorKind::kInvalidInput, {"normalizer.normalizers", "expected an array"});
  expect_error([] { parse(R"({"type": "Sequence", "normalizers": [{"type": 3}]})"); },
               ErrorKind::kInvalidInput, {"normalizer.normalizers[0].type", "expected a string"});
  expect_error([] { parse(R"("NFC")"); }, ErrorKind::kInvalidInput,
               {"normalizer", "expected an object"});
  expect_error([] { parse(R"({"type": "Replace", "pattern": {"String": ""}, "content": "x"})"); },
               ErrorKind::kInvalidInput, {"normalizer.pattern.String", "empty"});
}

}  // namespace
}  // namespace enclave
