#include "data/normalize.h"

#include <gtest/gtest.h>

namespace enclave::data {
namespace {

TEST(Normalize, NfkcFoldsCompatibilityForms) {
  // Full-width Latin and digits, the "fi" ligature, compatibility jamo.
  EXPECT_EQ(normalize_text("ＡＢＣ１２３ ﬁle"), "ABC123 file");
  EXPECT_EQ(normalize_text("ㄱ"), "ᄀ");
  // Decomposed Hangul (conjoining jamo) composes to syllables.
  EXPECT_EQ(normalize_text("\u1112\u1161\u11AB"), "한");
}

TEST(Normalize, RepairsInvalidUtf8) {
  EXPECT_EQ(normalize_text("a\xff"
                           "b\xE0\x80"),
            "a\uFFFDb\uFFFD\uFFFD");
}

TEST(Normalize, DropsControlAndInvisibleCharacters) {
  EXPECT_EQ(normalize_text(std::string("a\x00"
                                       "b\x07"
                                       "c\u200Bd\uFEFFe\u00ADf",
                                       18)),
            "abcdef");
}

TEST(Normalize, TidiesWhitespace) {
  EXPECT_EQ(normalize_text("  one\u3000 two\t three  \r\nfour\r\r\r\n\n\nfive \n\n"),
            "  one two three\nfour\n\nfive");
  EXPECT_EQ(normalize_text("a\u00A0b"), "a b");
}

TEST(Normalize, OptionsTurnStepsOff) {
  NormalizeOptions off{.nfkc = false, .controls = false, .whitespace = false};
  EXPECT_EQ(normalize_text("ＡＢ  \x01", off), "ＡＢ  \x01");
}

}  // namespace
}  // namespace enclave::data
