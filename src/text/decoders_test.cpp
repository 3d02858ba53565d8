#include "text/decoders.h"

#include <gtest/gtest.h>

#include "text/tokenizer_json_testing.h"
#include "text/utf8.h"

namespace enclave {
namespace {

using testing::expect_error;
const std::string kFffd(kReplacementChar);

Decoder parse(const std::string& json) {
  static testing::JsonDocs docs;
  return Decoder::from_json(docs.parse(json, "tokenizer.json", "decoder"));
}

const char* kLlama2 = R"({"type": "Sequence", "decoders": [
    {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
    {"type": "ByteFallback"}, {"type": "Fuse"},
    {"type": "Strip", "content": " ", "start": 1, "stop": 0}]})";

TEST(Decoders, Llama2Sequence) {
  const Decoder d = parse(kLlama2);
  EXPECT_FALSE(d.is_byte_level());
  EXPECT_EQ(d.decode({"▁Hello", "▁world", "<0x21>"}), "Hello world!");
  EXPECT_EQ(d.decode({"▁▁x"}), " x");  // Strip removes one leading space only
  EXPECT_EQ(d.decode({"<0xE2>", "<0x82>", "<0xAC>", "▁ok"}), "€ ok");
  // A byte run that is not valid UTF-8 gives one U+FFFD per byte.
  EXPECT_EQ(d.decode({"<0xE2>", "<0x82>", "x"}), kFffd + kFffd + "x");
  EXPECT_EQ(d.decode({"<s>", "▁Hi"}), "<s> Hi");
  EXPECT_EQ(d.decode({"<0x4G>"}), "<0x4G>");  // not a byte piece
  EXPECT_EQ(d.decode({}), "");
}

TEST(Decoders, ByteLevel) {
  const Decoder d = parse(
      R"({"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true})");
  EXPECT_TRUE(d.is_byte_level());
  EXPECT_EQ(d.decode({"Hello", "Ġworld", "Ċ", "<|eot_id|>"}), "Hello world\n<|eot_id|>");
  EXPECT_EQ(d.decode({"í", "ķ", "ľ"}), "한");  // ED 95 9C
  EXPECT_EQ(d.decode({"í", "ķ"}), kFffd);      // truncated: one U+FFFD (maximal subpart)
  EXPECT_EQ(d.decode({"âĸģ"}), "▁");           // a piece made of byte chars
  EXPECT_EQ(d.decode({"▁x"}), "▁x");           // outside the alphabet: kept as is
}

TEST(Decoders, MetaspaceStripAndNone) {
  const Decoder m = parse(
      R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true})");
  EXPECT_EQ(m.decode({"▁Hey", "▁▁friend"}), "Hey  friend");
  EXPECT_EQ(m.decode({"▁a▁b", "▁c"}), "ab c");  // HF drops every ▁ of the first piece
  const Decoder never =
      parse(R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never"})");
  EXPECT_EQ(never.decode({"▁Hey"}), " Hey");
  EXPECT_EQ(
      parse(R"({"type": "Strip", "content": " ", "start": 1, "stop": 2})").decode({"  x   ", " y"}),
      " x y");
  EXPECT_EQ(parse("null").decode({"a", "b"}), "a b");
}

TEST(Decoders, RegexReplace) {
  const Decoder d = parse(R"({"type": "Replace", "pattern": {"Regex": "▁+"}, "content": " "})");
  EXPECT_EQ(d.decode({"▁▁Hello", "▁world", "!"}), " Hello world!");
}

TEST(Decoders, BadInput) {
  expect_error([] { parse(R"({"type": "WordPiece", "prefix": "##"})"); }, ErrorKind::kUnsupported,
               {"tokenizer.json", "decoder.type", "WordPiece"});
  expect_error([] { parse(R"({"type": "Strip", "content": "ab", "start": 1, "stop": 0})"); },
               ErrorKind::kInvalidInput, {"decoder.content", "one character"});
  expect_error([] { parse(R"({"type": "Strip", "content": " ", "start": -1, "stop": 0})"); },
               ErrorKind::kInvalidInput, {"decoder.start"});
  expect_error(
      [] {
        parse(
            R"({"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"Regex": "[x"}, "content": ""}]})");
      },
      ErrorKind::kInvalidInput,
      {"decoder.decoders[0].pattern.Regex", "premature end of char-class"});
  expect_error([] { parse(R"({"decoders": []})"); }, ErrorKind::kInvalidInput,
               {"decoder.type", "missing"});
}

}  // namespace
}  // namespace enclave
