#include "text/script.h"

#include <gtest/gtest.h>

namespace enclave {
namespace {

TEST(Script, ClassifiesEachListedScript) {
  EXPECT_EQ(script_of(U'a'), Script::kLatin);
  EXPECT_EQ(script_of(U'Z'), Script::kLatin);
  EXPECT_EQ(script_of(U'é'), Script::kLatin);
  EXPECT_EQ(script_of(U'한'), Script::kHangul);
  EXPECT_EQ(script_of(U'\u3131'), Script::kHangul);  // compatibility jamo ㄱ
  EXPECT_EQ(script_of(U'\u1100'), Script::kHangul);  // conjoining jamo
  EXPECT_EQ(script_of(U'中'), Script::kHan);
  EXPECT_EQ(script_of(U'\u3400'), Script::kHan);      // extension A
  EXPECT_EQ(script_of(U'\U00020000'), Script::kHan);  // extension B
  EXPECT_EQ(script_of(U'ひ'), Script::kKana);
  EXPECT_EQ(script_of(U'カ'), Script::kKana);
  EXPECT_EQ(script_of(U'Ж'), Script::kCyrillic);
  EXPECT_EQ(script_of(U'ع'), Script::kArabic);
  EXPECT_EQ(script_of(U'λ'), Script::kGreek);
  EXPECT_EQ(script_of(U'ק'), Script::kOther);  // Hebrew is not listed
  EXPECT_EQ(script_of(U'7'), Script::kOther);
  EXPECT_EQ(script_of(U'!'), Script::kOther);
  EXPECT_EQ(script_of(U'。'), Script::kOther);  // Common
}

TEST(Script, NamesRoundTrip) {
  for (int i = 0; i < kNumScripts; ++i) {
    const auto script = static_cast<Script>(i);
    EXPECT_EQ(parse_script(to_string(script)), script) << to_string(script);
    EXPECT_NE(script_names().find(to_string(script)), std::string_view::npos);
  }
  EXPECT_EQ(parse_script("hangul"), Script::kHangul);
  EXPECT_FALSE(parse_script("Hangul").has_value());
  EXPECT_FALSE(parse_script("klingon").has_value());
  EXPECT_FALSE(parse_script("").has_value());
}

TEST(Script, LettersAreAlphabeticCodePoints) {
  EXPECT_TRUE(is_script_letter(U'a'));
  EXPECT_TRUE(is_script_letter(U'한'));
  EXPECT_TRUE(is_script_letter(U'Ж'));
  EXPECT_FALSE(is_script_letter(U'1'));
  EXPECT_FALSE(is_script_letter(U' '));
  EXPECT_FALSE(is_script_letter(U'#'));
  EXPECT_FALSE(is_script_letter(U'\uFFFD'));
}

TEST(Script, DominantScriptCountsLetters) {
  EXPECT_EQ(dominant_script("안녕하세요 반갑습니다 hello"), Script::kHangul);
  EXPECT_EQ(dominant_script("hello 안녕"), Script::kLatin);
  EXPECT_EQ(dominant_script("Привет, мир 123"), Script::kCyrillic);
  EXPECT_EQ(dominant_script("これはテストです"), Script::kKana);
  EXPECT_EQ(dominant_script("123 !! 。"), Script::kOther);
  EXPECT_EQ(dominant_script(""), Script::kOther);
  EXPECT_EQ(dominant_script("ab 한글"), Script::kHangul);     // a tie goes to the first listed
  EXPECT_EQ(dominant_script("\xff\xfe ab"), Script::kLatin);  // invalid bytes are no letters
}

}  // namespace
}  // namespace enclave
