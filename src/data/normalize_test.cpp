#include "data/normalize.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace enclave::data {
namespace {

std::string in_form(std::string_view text, NormalForm form) {
  return normalize_text(text, {.form = form, .controls = false, .whitespace = false});
}

// The Korean normalisation set: each input with what every form makes of it.
struct FormCase {
  const char* name;
  const char* input;
  const char* safe;
  const char* nfc;
  const char* nfkc;
};

const FormCase kFormCases[] = {
    // Hangul compatibility jamo, as chat text writes laughter and initials.
    {"compatibility jamo", "ㅋㅋ ㅎㅎ ㄱㄴ", "ㅋㅋ ㅎㅎ ㄱㄴ", "ㅋㅋ ㅎㅎ ㄱㄴ",
     "\u110F\u110F \u1112\u1112 \u1100\u1102"},
    // Conjoining jamo compose into syllables in every form.
    {"conjoining jamo", "\u1112\u1161\u11AB\u1100\u1173\u11AF", "한글", "한글", "한글"},
    // Enclosed characters: circled numbers, parenthesised and circled Hangul.
    {"circled numbers", "①②③ 항목", "①②③ 항목", "①②③ 항목", "123 항목"},
    {"parenthesised hangul", "㈜한국전자", "㈜한국전자", "㈜한국전자", "(주)한국전자"},
    {"circled hangul", "㉠ 첫째 ㉮ 둘째", "㉠ 첫째 ㉮ 둘째", "㉠ 첫째 ㉮ 둘째",
     "\u1100 첫째 가 둘째"},
    // Squared units, superscripts and the ellipsis carry meaning NFKC loses.
    {"units", "84㎡, 3㎞, 5㎏", "84㎡, 3㎞, 5㎏", "84㎡, 3㎞, 5㎏", "84m2, 3km, 5kg"},
    {"superscript and ellipsis", "m² 그리고…", "m² 그리고…", "m² 그리고…", "m2 그리고..."},
    // CJK compatibility ideographs: 樂 read 락 (U+F914), 낙 (U+F95C), 악
    // (U+F9BF) are one unified 樂 (U+6A02) to NFC and NFKC.
    {"compatibility ideographs", "\uF914\uF95C\uF9BF 金\uF90A", "\uF914\uF95C\uF9BF 金\uF90A",
     "\u6A02\u6A02\u6A02 金\u91D1", "\u6A02\u6A02\u6A02 金\u91D1"},
    {"supplementary compatibility ideograph", "\U0002F800", "\U0002F800", "\u4E3D", "\u4E3D"},
    // Full-width ASCII, the other width forms, compatibility spaces, ligatures.
    {"full-width ascii", "ＡＢＣ１２３！（주）", "ABC123!(주)", "ＡＢＣ１２３！（주）",
     "ABC123!(주)"},
    {"half-width hangul", "\uFFA1\uFFA4\uFFBB", "ㄱㄴㅋ", "\uFFA1\uFFA4\uFFBB",
     "\u1100\u1102\u110F"},
    {"full-width won sign", "￦1,000", "₩1,000", "￦1,000", "₩1,000"},
    {"compatibility spaces", "가\u3000나\u00A0다\u2003라", "가 나 다 라",
     "가\u3000나\u00A0다\u2003라", "가 나 다 라"},
    {"ligatures", "ﬁle ﬂow", "file flow", "ﬁle ﬂow", "file flow"},
    // A folded letter composes with the mark after it.
    {"full-width letter and combining mark", "Ａ\u0301", "\u00C1", "Ａ\u0301", "\u00C1"},
    {"decomposed latin", "e\u0301", "\u00E9", "\u00E9", "\u00E9"},
};

TEST(Normalize, KoreanFormSet) {
  for (const FormCase& c : kFormCases) {
    EXPECT_EQ(in_form(c.input, NormalForm::kSafe), c.safe) << c.name;
    EXPECT_EQ(in_form(c.input, NormalForm::kNfc), c.nfc) << c.name;
    EXPECT_EQ(in_form(c.input, NormalForm::kNfkc), c.nfkc) << c.name;
    EXPECT_EQ(in_form(c.input, NormalForm::kNone), c.input) << c.name;
  }
}

TEST(Normalize, SafeIsTheDefault) {
  EXPECT_EQ(normalize_text("ㅋㅋ ①번 ㈜ＡＢＣ\u3000１２３"), "ㅋㅋ ①번 ㈜ABC 123");
}

TEST(Normalize, FormNames) {
  for (NormalForm f : {NormalForm::kSafe, NormalForm::kNfc, NormalForm::kNfkc, NormalForm::kNone})
    EXPECT_EQ(parse_normal_form(to_string(f)), f);
  try {
    parse_normal_form("NFKD");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_STREQ(e.what(), "unknown normal form 'NFKD' (expected safe, nfc, nfkc or none)");
  }
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
  NormalizeOptions off{.form = NormalForm::kNone, .controls = false, .whitespace = false};
  EXPECT_EQ(normalize_text("ＡＢ  \x01", off), "ＡＢ  \x01");
}

}  // namespace
}  // namespace enclave::data
