#include "text/utf8.h"

#include <gtest/gtest.h>

#include "text/byte_level.h"

namespace enclave {
namespace {

const std::string kFffd(kReplacementChar);

TEST(Utf8, ValidTextIsUnchanged) {
  for (std::string s :
       {"", "plain ascii", "한국어", "👍🏽 👨‍👩‍👧", "\x7F", "\xF4\x8F\xBF\xBF"}) {
    EXPECT_TRUE(is_valid_utf8(s)) << s;
    EXPECT_EQ(sanitize_utf8(s), s);
  }
}

// Expected values follow Unicode's "maximal subpart" practice (and Rust's
// String::from_utf8_lossy, which Hugging Face uses).
TEST(Utf8, SanitizeReplacesMaximalSubparts) {
  EXPECT_EQ(sanitize_utf8("a\xFF"
                          "b"),
            "a" + kFffd + "b");
  EXPECT_EQ(sanitize_utf8("\xC0\xAF"), kFffd + kFffd);  // overlong lead is never valid
  EXPECT_EQ(sanitize_utf8("\xE2\x82"), kFffd);          // truncated 3-byte sequence
  EXPECT_EQ(sanitize_utf8("\xE2\x82x"), kFffd + "x");
  EXPECT_EQ(sanitize_utf8("\xF0\x9F\x91"), kFffd);  // truncated emoji
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"),
            kFffd + kFffd + kFffd);  // surrogate: ED A0 is ill-formed
  EXPECT_EQ(sanitize_utf8("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // above U+10FFFF
  EXPECT_EQ(sanitize_utf8("\x80\x80"), kFffd + kFffd);  // lone continuation bytes
  EXPECT_EQ(sanitize_utf8(std::string("a\0b", 3)), std::string("a\0b", 3));
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));
}

TEST(Utf8, CodePointsAndOffsets) {
  const CodePoints cp = decode_code_points("a한👍");
  ASSERT_EQ(cp.cps.size(), 3u);
  EXPECT_EQ(cp.cps[0], U'a');
  EXPECT_EQ(cp.cps[1], U'\uD55C');
  EXPECT_EQ(cp.cps[2], U'\U0001F44D');
  EXPECT_EQ(cp.offsets, (std::vector<std::size_t>{0, 1, 4, 8}));
  std::string round;
  for (char32_t c : cp.cps) append_utf8(round, c);
  EXPECT_EQ(round, "a한👍");
}

TEST(Utf8, TrailingReplacementBytes) {
  EXPECT_EQ(trailing_replacement_bytes("abc"), 0u);
  EXPECT_EQ(trailing_replacement_bytes("ab" + kFffd), 3u);
  EXPECT_EQ(trailing_replacement_bytes(kFffd + "a" + kFffd + kFffd), 6u);
  EXPECT_EQ(trailing_replacement_bytes("\xBD"), 0u);
}

TEST(ByteLevel, MatchesGpt2Table) {
  EXPECT_EQ(byte_level_char(' '), "\xC4\xA0");   // Ġ U+0120
  EXPECT_EQ(byte_level_char('\n'), "\xC4\x8A");  // Ċ U+010A
  EXPECT_EQ(byte_level_char('\t'), "\xC4\x89");  // ĉ U+0109
  EXPECT_EQ(byte_level_char('a'), "a");
  EXPECT_EQ(byte_level_char('!'), "!");
  EXPECT_EQ(byte_level_char(0xAD), "\xC5\x83");  // Ń U+0143, the last remapped byte
  EXPECT_EQ(byte_level_char(0xE9), "\xC3\xA9");  // é maps to itself
  EXPECT_EQ(byte_level_char(0x00), "\xC4\x80");  // Ā U+0100
  EXPECT_EQ(to_byte_level("a b\n"),
            "a\xC4\xA0"
            "b\xC4\x8A");
}

TEST(ByteLevel, RoundTripsEveryByte) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string mapped = to_byte_level(all);
  EXPECT_TRUE(is_valid_utf8(mapped));
  EXPECT_EQ(from_byte_level(mapped), all);
  EXPECT_EQ(from_byte_level("<|eot_id|>\xE2\x96\x81"), std::nullopt);  // ▁ is not in the alphabet
}

}  // namespace
}  // namespace enclave
