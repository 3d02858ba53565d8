// Each metric against values worked out by hand (the arithmetic is in the
// comments), plus the edge cases the reference implementations define.
#include "eval/text_metrics.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/unicode_ops.h"

namespace enclave::eval {
namespace {

TEST(TextMetricsTest, ExactMatchWithNormalisation) {
  MatchOptions none;
  EXPECT_EQ(exact_match("Paris", "Paris", none), 1.0);
  EXPECT_EQ(exact_match("paris", "Paris", none), 0.0);
  EXPECT_EQ(exact_match("paris", "Paris", {.ignore_case = true}), 1.0);
  EXPECT_EQ(exact_match("Paris.", "paris", {.ignore_case = true}), 0.0);
  EXPECT_EQ(exact_match("Paris.", "paris", {.ignore_case = true, .ignore_punctuation = true}), 1.0);
  EXPECT_EQ(exact_match("4 2", "42", {.ignore_whitespace = true}), 1.0);
  EXPECT_EQ(exact_match("The answer is 42", "42", {.regexes_to_ignore = {"^The answer is "}}), 1.0);
  EXPECT_EQ(exact_match("서울입니다.", "서울입니다", {.ignore_punctuation = true}), 1.0);
  EXPECT_EQ(exact_match("ÉCOLE", "école", {.ignore_case = true}), 1.0);  // Unicode case folding
  EXPECT_THROW(check_match_options({.regexes_to_ignore = {"("}}, "m"), Error);
}

TEST(TextMetricsTest, ContainsAndRegex) {
  EXPECT_EQ(contains_match("I think it is Paris, France", "Paris", {}), 1.0);
  EXPECT_EQ(contains_match("I think it is paris", "Paris", {}), 0.0);
  EXPECT_EQ(contains_match("I think it is paris", "Paris", {.ignore_case = true}), 1.0);
  EXPECT_EQ(regex_match("answer: 17 apples", R"(\b17\b)"), 1.0);
  EXPECT_EQ(regex_match("answer: 170 apples", R"(\b17\b)"), 0.0);
  EXPECT_THROW(regex_match("x", "(unclosed"), Error);
}

TEST(TextMetricsTest, TokenF1ByHand) {
  // answer tokens [cat, sat, on, mat] ("the" dropped), reference [cat, sat]:
  // overlap 2, precision 2/4, recall 2/2, F1 = 2 * 0.5 * 1 / 1.5 = 2/3.
  EXPECT_NEAR(token_f1("The cat sat on the mat.", "a cat sat"), 2.0 / 3.0, 1e-12);
  // Repeated words count up to the smaller multiplicity: answer [x, x, y],
  // reference [x, y, y]: overlap min(2,1) + min(1,2) = 2, P = R = 2/3, F1 = 2/3.
  EXPECT_NEAR(token_f1("x x y", "x y y"), 2.0 / 3.0, 1e-12);
  EXPECT_EQ(token_f1("completely different", "nothing shared"), 0.0);
  EXPECT_EQ(token_f1("", ""), 1.0);
  EXPECT_EQ(token_f1("the", "cat"), 0.0);  // "the" normalises away: one side empty
  EXPECT_EQ(squad_tokens("The Cat, an   apple!"), (std::vector<std::string>{"cat", "apple"}));
}

TEST(TextMetricsTest, RougeLByHand) {
  // answer [the, cat, was, found, under, the, bed] (7), reference [the, cat,
  // was, under, the, bed] (6): LCS 6, P = 6/7, R = 1, F = 2*(6/7)/(1+6/7) = 12/13.
  EXPECT_NEAR(rouge_l("The cat was found under the bed", "the cat was under the bed"), 12.0 / 13.0,
              1e-12);
  // [a, b, c, d] vs [a, c, e]: LCS [a, c] = 2, P = 1/2, R = 2/3, F = 2*(1/3)/(7/6) = 4/7.
  EXPECT_NEAR(rouge_l("a b c d", "a c e"), 4.0 / 7.0, 1e-12);
  EXPECT_NEAR(rouge_l("서울은 한국의 수도", "서울은 수도"), 2 * (2.0 / 3) * 1 / (2.0 / 3 + 1),
              1e-12);
  EXPECT_EQ(rouge_l("", "a"), 0.0);
  EXPECT_EQ(rouge_l("x y", "a b"), 0.0);
}

TEST(TextMetricsTest, ChrFByHand) {
  EXPECT_NEAR(chrf("hello", "hello"), 1.0, 1e-12);
  EXPECT_EQ(chrf("abc", "xyz"), 0.0);
  // "ab" vs "abc": order 1: hyp {a,b} ref {a,b,c} match 2 -> P 1, R 2/3;
  // order 2: hyp {ab} ref {ab,bc} match 1 -> P 1, R 1/2; orders 3..6: hyp
  // too short, not effective. avgP = 1, avgR = 7/12; F2 = 5 * 1 * (7/12) /
  // (4 * 1 + 7/12) = (35/12) / (55/12) = 7/11.
  EXPECT_NEAR(chrf("ab", "abc"), 7.0 / 11.0, 1e-12);
  // Whitespace is ignored: "a b" is "ab".
  EXPECT_NEAR(chrf("a b", "abc"), 7.0 / 11.0, 1e-12);
  EXPECT_EQ(chrf("", "abc"), 0.0);
}

TEST(UnicodeOpsTest, CaseWordsAndScripts) {
  EXPECT_EQ(to_upper("straße 한국"), "STRASSE 한국");
  EXPECT_EQ(to_lower("ÀB"), "àb");
  EXPECT_EQ(word_tokens("Hello, 세계! don't 42"),
            (std::vector<std::string>{"Hello", "세계", "don", "t", "42"}));
  EXPECT_EQ(split_whitespace("  a \t b\n"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(strip(" \n x y \t"), "x y");
  EXPECT_EQ(remove_punctuation("a,b.c!「d」"), "abcd");
  EXPECT_EQ(dominant_script("안녕하세요 반갑습니다 hello"), Script::kHangul);
  EXPECT_EQ(dominant_script("hello 안녕"), Script::kLatin);
  EXPECT_EQ(dominant_script("123 !!"), Script::kOther);
}

}  // namespace
}  // namespace enclave::eval
