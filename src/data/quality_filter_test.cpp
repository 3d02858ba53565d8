#include "data/quality_filter.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"

namespace enclave::data {
namespace {

// A varied English paragraph that passes the default rules.
std::string good_text() {
  return "The committee reviewed the quarterly budget and approved funding for three new projects.\n"
         "Members discussed hiring plans, office space and the timeline for the product launch.\n"
         "Several questions about travel costs were deferred until the next regular meeting.";
}

std::string words(int n, const std::string& word) {
  std::string out;
  for (int i = 0; i < n; ++i) out += (i ? " " : "") + word + std::to_string(i % 10);
  return out;
}

TEST(QualityFilter, GoodTextPasses) {
  EXPECT_EQ(check_quality(good_text(), FilterConfig{}), "");
  EXPECT_EQ(check_quality("회사는 올해 새로운 연구 과제 세 건에 예산을 배정했다. 회의에서는 채용 계획과 일정이 논의되었다.",
                          FilterConfig{}),
            "");
}

TEST(QualityFilter, LengthRules) {
  FilterConfig c;
  c.min_chars = 1000;
  EXPECT_EQ(check_quality(good_text(), c), "min_chars");
  c = {};
  c.max_chars = 10;
  EXPECT_EQ(check_quality(good_text(), c), "max_chars");
  c = {};
  c.min_words = 100;
  EXPECT_EQ(check_quality(good_text(), c), "min_words");
  c = {};
  c.max_words = 5;
  EXPECT_EQ(check_quality(good_text(), c), "max_words");
}

TEST(QualityFilter, MeanWordLength) {
  EXPECT_EQ(check_quality("a b c d e f g h i j k l m", FilterConfig{}), "mean_word_length");
  EXPECT_EQ(check_quality("Supercalifragilisticexpialidocious antidisestablishmentarianism", FilterConfig{}),
            "mean_word_length");
}

TEST(QualityFilter, SymbolAndDigitRatios) {
  EXPECT_EQ(check_quality("### $$$ @@@ +++ === the report ~~~ ^^^", FilterConfig{}), "symbol_ratio");
  EXPECT_EQ(check_quality("total 1234567 and 98765432 plus 55555", FilterConfig{}), "digit_ratio");
}

TEST(QualityFilter, AlphaWords) {
  EXPECT_EQ(check_quality("-- ,, .. !! ?? the end of it", FilterConfig{}), "alpha_words");
}

TEST(QualityFilter, ScriptRatios) {
  FilterConfig c;
  c.script_min[Script::kHangul] = 0.5;
  EXPECT_EQ(check_quality(good_text(), c), "script_min:hangul");
  EXPECT_EQ(check_quality("한국어 문서는 이 규칙을 통과한다 with English", c), "");
  FilterConfig h;
  h.script_max[Script::kHan] = 0.3;
  EXPECT_EQ(check_quality("大韓民國 憲法 第一條 國家 主權 국민 있다", h), "script_max:han");
  FilterConfig l;
  l.script_max[Script::kLatin] = 0.2;
  EXPECT_EQ(check_quality(good_text(), l), "script_max:latin");
}

TEST(QualityFilter, BulletAndEllipsisLines) {
  EXPECT_EQ(check_quality("• first item here\n• second item here\n• third item here\n• fourth item here",
                          FilterConfig{}),
            "bullet_lines");
  EXPECT_EQ(check_quality("read the rest of it...\nclick here for more…\nthis one is complete.", FilterConfig{}),
            "ellipsis_lines");
}

TEST(QualityFilter, RepeatedLinesAndParagraphs) {
  FilterConfig c;
  EXPECT_EQ(check_quality("Subscribe to our newsletter\nSubscribe to our newsletter\nSubscribe to our newsletter\n"
                          "Real content sits on this line",
                          c),
            "repeated_lines");
  c.max_repeated_lines = std::nullopt;
  c.max_top_ngram = {std::nullopt, std::nullopt, std::nullopt};
  EXPECT_EQ(check_quality("a fairly long repeated line of boilerplate\na fairly long repeated line of boilerplate\nshort unique line", c),
            "repeated_line_chars");
  FilterConfig p;
  p.max_repeated_lines = p.max_repeated_line_chars = std::nullopt;
  p.max_top_ngram = {std::nullopt, std::nullopt, std::nullopt};
  p.max_duplicate_ngram = {};
  EXPECT_EQ(check_quality("Same paragraph here.\nWith two lines.\n\nSame paragraph here.\nWith two lines.\n\n"
                          "Other words entirely.",
                          p),
            "repeated_paragraphs");
  p.max_repeated_paragraphs = std::nullopt;
  EXPECT_EQ(check_quality("Repeated block of text that is long.\n\nRepeated block of text that is long.\n\nShort tail.", p),
            "repeated_paragraph_chars");
}

TEST(QualityFilter, NgramRepetition) {
  FilterConfig c;
  EXPECT_EQ(check_quality("buy now buy now buy now buy now the best shoes in town today", c), "top_ngram:2");
  FilterConfig d;
  d.max_top_ngram = {std::nullopt, std::nullopt, std::nullopt};
  EXPECT_EQ(check_quality("alpha beta gamma delta epsilon zeta alpha beta gamma delta epsilon zeta unique tail words "
                          "follow here",
                          d),
            "duplicate_ngram:5");
}

TEST(QualityFilter, WordLists) {
  FilterConfig c = filter_config_from_json({{"required_words", {"the", "and", "of"}}, {"min_required_words", 2}},
                                           "test");
  EXPECT_EQ(check_quality(good_text(), c), "");
  EXPECT_EQ(check_quality("회사는 올해 새로운 연구 과제를 시작했다", c), "required_words");
  FilterConfig b = filter_config_from_json({{"blocked_words", {"casino", "도박"}}}, "test");
  EXPECT_EQ(check_quality("Visit our Casino tonight for great prizes", b), "blocked_words");
  EXPECT_EQ(check_quality("불법 도박은 처벌 대상이다", b), "blocked_words");  // prefix match with particle
  EXPECT_EQ(check_quality(good_text(), b), "");
}

TEST(QualityFilter, ConfigFromJsonAndBack) {
  FilterConfig c = filter_config_from_json(
      {{"min_chars", 10}, {"max_symbol_ratio", nullptr}, {"script_min", {{"hangul", 0.5}}}, {"max_top_ngram", {{"3", 0.5}}}},
      "recipe.yaml: filter");
  EXPECT_EQ(c.min_chars, 10);
  EXPECT_FALSE(c.max_symbol_ratio);
  EXPECT_EQ(c.script_min.at(Script::kHangul), 0.5);
  EXPECT_EQ(c.max_top_ngram[1], 0.5);
  const auto j = to_json(c);
  EXPECT_EQ(j["min_chars"], 10);
  EXPECT_TRUE(j["max_symbol_ratio"].is_null());
  EXPECT_EQ(j["script_min"]["hangul"], 0.5);
}

TEST(QualityFilter, ConfigRejectsBadValues) {
  for (const auto& bad : {nlohmann::json{{"min_char", 1}}, nlohmann::json{{"min_chars", "ten"}},
                          nlohmann::json{{"min_chars", -1}}, nlohmann::json{{"script_min", {{"cyrillic", 0.5}}}},
                          nlohmann::json{{"max_top_ngram", {{"7", 0.5}}}}, nlohmann::json{{"blocked_words", "x"}},
                          nlohmann::json::array()}) {
    EXPECT_THROW(filter_config_from_json(bad, "test"), Error) << bad.dump();
  }
}

TEST(TextStats, CountsScriptsAndWords) {
  const TextStats s = compute_text_stats("한국 Latin 漢字 123");
  EXPECT_EQ(s.n_words, 4);
  EXPECT_EQ(s.n_script_letters[static_cast<int>(Script::kHangul)], 2);
  EXPECT_EQ(s.n_script_letters[static_cast<int>(Script::kLatin)], 5);
  EXPECT_EQ(s.n_script_letters[static_cast<int>(Script::kHan)], 2);
  EXPECT_EQ(s.n_digits, 3);
  EXPECT_EQ(s.n_alpha_words, 3);
}

TEST(TextStats, MarkdownTableSyntaxIsNotCountedAsWords) {
  const TextStats s = compute_text_stats("| Name | Team |\n| --- | :---: |\n| Kim | R-D |");
  EXPECT_EQ(s.n_words, 4);  // Name Team Kim R-D, and nothing of the rules and pipes
  EXPECT_EQ(s.n_alpha_words, 4);
  EXPECT_EQ(check_quality("Staff by team is listed below for the whole company.\n\n| Name | Team |\n| --- | --- |\n"
                          "| Kim | Research |\n| Lee | Sales |",
                          FilterConfig{}),
            "");
}

}  // namespace
}  // namespace enclave::data
