#include "data/quality_filter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/test_documents.h"

namespace enclave::data {
namespace {

// A varied English paragraph that passes the default rules.
std::string good_text() {
  return "The committee reviewed the quarterly budget and approved funding for three new "
         "projects.\n"
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
  EXPECT_EQ(check_quality("회사는 올해 새로운 연구 과제 세 건에 예산을 배정했다. 회의에서는 채용 "
                          "계획과 일정이 논의되었다.",
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
  EXPECT_EQ(check_quality("Supercalifragilisticexpialidocious antidisestablishmentarianism",
                          FilterConfig{}),
            "mean_word_length");
}

TEST(QualityFilter, SymbolAndDigitRatios) {
  EXPECT_EQ(check_quality("### $$$ @@@ +++ === the report ~~~ ^^^", FilterConfig{}),
            "symbol_ratio");
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
  EXPECT_EQ(
      check_quality("• first item here\n• second item here\n• third item here\n• fourth item here",
                    FilterConfig{}),
      "bullet_lines");
  EXPECT_EQ(check_quality("read the rest of it...\nclick here for more…\nthis one is complete.",
                          FilterConfig{}),
            "ellipsis_lines");
}

TEST(QualityFilter, RepeatedLinesAndParagraphs) {
  FilterConfig c;
  EXPECT_EQ(
      check_quality(
          "Subscribe to our newsletter\nSubscribe to our newsletter\nSubscribe to our newsletter\n"
          "Real content sits on this line",
          c),
      "repeated_lines");
  c.max_repeated_lines = std::nullopt;
  c.max_top_ngram = {std::nullopt, std::nullopt, std::nullopt};
  EXPECT_EQ(check_quality("a fairly long repeated line of boilerplate\na fairly long repeated line "
                          "of boilerplate\nshort unique line",
                          c),
            "repeated_line_chars");
  FilterConfig p;
  p.max_repeated_lines = p.max_repeated_line_chars = std::nullopt;
  p.max_top_ngram = {std::nullopt, std::nullopt, std::nullopt};
  p.max_duplicate_ngram = {};
  EXPECT_EQ(check_quality(
                "Same paragraph here.\nWith two lines.\n\nSame paragraph here.\nWith two lines.\n\n"
                "Other words entirely.",
                p),
            "repeated_paragraphs");
  p.max_repeated_paragraphs = std::nullopt;
  EXPECT_EQ(check_quality("Repeated block of text that is long.\n\nRepeated block of text that is "
                          "long.\n\nShort tail.",
                          p),
            "repeated_paragraph_chars");
}

TEST(QualityFilter, NgramRepetition) {
  FilterConfig c;
  EXPECT_EQ(check_quality("buy now buy now buy now buy now the best shoes in town today", c),
            "top_ngram:2");
  FilterConfig d;
  d.max_top_ngram = {std::nullopt, std::nullopt, std::nullopt};
  EXPECT_EQ(check_quality("alpha beta gamma delta epsilon zeta alpha beta gamma delta epsilon zeta "
                          "unique tail words "
                          "follow here",
                          d),
            "duplicate_ngram:5");
}

// A distinct five-letter word for each i, starting with `lead`.
std::string five_letter_word(char lead, int i) {
  std::string w(1, lead);
  for (int k = 0; k < 4; ++k, i /= 26) w += static_cast<char>('a' + i % 26);
  return w;
}

// n_filler distinct filler words with a run of n_repeated distinct words
// written twice among them: the only repetition in the text. Every word has
// five letters, so a run of n words holds 5n of the 5 * (2n + n_filler)
// word characters.
std::string text_with_repeated_run(int n_repeated, int n_filler) {
  std::vector<std::string> run, out;
  for (int i = 0; i < n_repeated; ++i) run.push_back(five_letter_word('r', i));
  int next = 0;
  auto filler = [&](int count) {
    for (int i = 0; i < count; ++i) out.push_back(five_letter_word('f', next++));
  };
  filler(n_filler / 3);
  out.insert(out.end(), run.begin(), run.end());
  filler(n_filler / 3);
  out.insert(out.end(), run.begin(), run.end());
  filler(n_filler - 2 * (n_filler / 3));
  std::string text;
  for (const auto& w : out) text += (text.empty() ? "" : " ") + w;
  return text;
}

// top_ngram:3 and :4 at their default thresholds (0.18, 0.16): a 3- or
// 4-gram written twice is judged just above and just below its threshold,
// while the shorter n-grams inside it stay under theirs.
TEST(QualityFilter, TopNgramThreeAndFour) {
  const FilterConfig defaults;
  for (int n : {3, 4}) {
    const double limit = *defaults.max_top_ngram[n - 2];
    // The run appears twice, so the top n-gram holds 2 * 5n characters.
    const int words_above = static_cast<int>(std::floor(2.0 * n / (limit + 0.03)));
    const int words_below = static_cast<int>(std::ceil(2.0 * n / (limit - 0.03)));
    const std::string above = text_with_repeated_run(n, words_above - 2 * n);
    const std::string below = text_with_repeated_run(n, words_below - 2 * n);
    const TextStats s = compute_text_stats(above);
    ASSERT_EQ(s.n_word_chars, 5 * words_above);
    EXPECT_EQ(s.top_ngram_chars[n - 2], 10 * n) << "n=" << n;
    EXPECT_GT(s.ratio(s.top_ngram_chars[n - 2], s.n_word_chars), limit);
    // The (n-1)-grams inside the run repeat too, with fewer characters.
    EXPECT_EQ(s.top_ngram_chars[n - 3], 10 * (n - 1));
    EXPECT_LT(s.ratio(s.top_ngram_chars[n - 3], s.n_word_chars), *defaults.max_top_ngram[n - 3]);
    if (n < 4) EXPECT_EQ(s.top_ngram_chars[n - 1], 0) << "no (n+1)-gram repeats";
    EXPECT_EQ(check_quality(above, defaults), "top_ngram:" + std::to_string(n));
    EXPECT_EQ(check_quality(below, defaults), "") << "n=" << n;
    FilterConfig off;
    off.max_top_ngram[n - 2] = std::nullopt;
    EXPECT_EQ(check_quality(above, off), "") << "n=" << n;
  }
}

// duplicate_ngram:6..10 at their default thresholds (0.14 .. 0.10): a run of
// n words written twice puts 5n characters (the second copy) in repeated
// n-grams and none in repeated (n+1)-grams. The rules for shorter n-grams,
// which the run also trips, and top_ngram are turned off.
TEST(QualityFilter, DuplicateNgramSixToTen) {
  for (int n = 6; n <= 10; ++n) {
    FilterConfig c;
    c.max_top_ngram = {std::nullopt, std::nullopt, std::nullopt};
    for (int m = 5; m < n; ++m) c.max_duplicate_ngram[m - 5] = std::nullopt;
    const double limit = *c.max_duplicate_ngram[n - 5];
    EXPECT_NEAR(limit, 0.15 - 0.01 * (n - 5), 1e-12);
    const int words_above = static_cast<int>(std::floor(n / (limit + 0.02)));
    const int words_below = static_cast<int>(std::ceil(n / (limit - 0.02)));
    const std::string above = text_with_repeated_run(n, words_above - 2 * n);
    const std::string below = text_with_repeated_run(n, words_below - 2 * n);
    const TextStats s = compute_text_stats(above);
    EXPECT_EQ(s.dup_ngram_chars[n - 5], 5 * n) << "n=" << n;
    EXPECT_GT(s.ratio(s.dup_ngram_chars[n - 5], s.n_word_chars), limit);
    if (n < 10) EXPECT_EQ(s.dup_ngram_chars[n - 4], 0) << "n=" << n;
    EXPECT_EQ(check_quality(above, c), "duplicate_ngram:" + std::to_string(n));
    EXPECT_EQ(check_quality(below, c), "") << "n=" << n;
    c.max_duplicate_ngram[n - 5] = std::nullopt;
    EXPECT_EQ(check_quality(above, c), "") << "n=" << n;
  }
}

TEST(QualityFilter, ScriptMinLatinAndHan) {
  FilterConfig latin;
  latin.script_min[Script::kLatin] = 0.8;
  EXPECT_EQ(check_quality(good_text(), latin), "");
  EXPECT_EQ(check_quality("회사는 올해 새로운 연구 과제를 시작했다", latin), "script_min:latin");
  EXPECT_EQ(check_quality("漢字 文書 內容", latin), "script_min:latin");
  EXPECT_EQ(check_quality("Enclave 문서", latin),
            "script_min:latin");  // 7 of 9 letters Latin: 0.78
  latin.script_min[Script::kLatin] = 0.75;
  EXPECT_EQ(check_quality("Enclave 문서", latin), "");

  FilterConfig han;
  han.script_min[Script::kHan] = 0.8;
  EXPECT_EQ(check_quality("大韓民國 憲法 第一條", han), "");
  EXPECT_EQ(check_quality(good_text(), han), "script_min:han");
  EXPECT_EQ(check_quality("大韓民國 憲法 국민", han),
            "script_min:han");  // 6 of 8 letters Han: 0.75
  han.script_min[Script::kHan] = 0.7;
  EXPECT_EQ(check_quality("大韓民國 憲法 국민", han), "");
  // Digits are not letters: they do not dilute the share.
  FilterConfig only_han;
  only_han.script_min[Script::kHan] = 1.0;
  EXPECT_EQ(check_quality("大韓民國 憲法 第1條 制定", only_han), "");
  EXPECT_EQ(check_quality("大韓民國 憲法 국민", only_han), "script_min:han");

  // Both minima at once: each is judged, in script order.
  FilterConfig both;
  both.script_min[Script::kHangul] = 0.5;
  both.script_min[Script::kLatin] = 0.2;
  EXPECT_EQ(check_quality("회사는 올해 새로운 연구 과제를 시작했다", both), "script_min:latin");
  EXPECT_EQ(check_quality(good_text(), both), "script_min:hangul");
  EXPECT_EQ(check_quality("Enclave 문서는 회사의 데이터를 안전하게 정리한다", both), "");
}

TEST(QualityFilter, WordListFiles) {
  const testing::ScratchDir dir("quality_filter_word_files");
  const std::string blocked = (dir / "blocked.txt").string();
  const std::string required = (dir / "required.txt").string();
  testing::write_bytes(blocked, "# words that remove a document\n  Casino \n\n도박\nLOTTERY\r\n");
  testing::write_bytes(required, "the\nand\n\nof\n");

  FilterConfig b = filter_config_from_json({{"blocked_words_file", blocked}}, "test");
  // Comments and blank lines skipped, spaces trimmed, ASCII case folded.
  EXPECT_EQ(to_json(b)["blocked_words"], nlohmann::json({"casino", "lottery", "도박"}));
  EXPECT_EQ(check_quality("Win the lottery tonight and every night", b), "blocked_words");
  EXPECT_EQ(check_quality("불법 도박은 처벌 대상이다", b), "blocked_words");
  EXPECT_EQ(check_quality(good_text(), b), "");
  // max_blocked_words counts distinct listed words.
  FilterConfig b1 =
      filter_config_from_json({{"blocked_words_file", blocked}, {"max_blocked_words", 1}}, "test");
  EXPECT_EQ(check_quality("casino night, casino day, casino week", b1), "");
  EXPECT_EQ(check_quality("casino night and lottery day at last", b1), "blocked_words");

  FilterConfig r = filter_config_from_json(
      {{"required_words_file", required}, {"min_required_words", 2}}, "test");
  EXPECT_EQ(r.required_words.size(), 3u);
  EXPECT_EQ(check_quality(good_text(), r), "");  // "the" and "and"
  EXPECT_EQ(check_quality("회사는 올해 새로운 연구 과제를 시작했다", r), "required_words");
  EXPECT_EQ(check_quality("The budget was approved today", r), "required_words");  // only "the"
  // A file adds to the inline list.
  FilterConfig merged = filter_config_from_json({{"required_words", {"budget"}},
                                                 {"required_words_file", required},
                                                 {"min_required_words", 4}},
                                                "test");
  EXPECT_EQ(merged.required_words.size(), 4u);
  EXPECT_EQ(check_quality("The budget of the office and the staff", merged), "");
  EXPECT_EQ(check_quality("The budget and the plan for today", merged),
            "required_words");  // no "of"

  EXPECT_THROW(
      filter_config_from_json({{"blocked_words_file", (dir / "missing.txt").string()}}, "test"),
      Error);
  EXPECT_THROW(filter_config_from_json({{"required_words_file", 3}}, "test"), Error);
}

TEST(QualityFilter, WordLists) {
  FilterConfig c = filter_config_from_json(
      {{"required_words", {"the", "and", "of"}}, {"min_required_words", 2}}, "test");
  EXPECT_EQ(check_quality(good_text(), c), "");
  EXPECT_EQ(check_quality("회사는 올해 새로운 연구 과제를 시작했다", c), "required_words");
  FilterConfig b = filter_config_from_json({{"blocked_words", {"casino", "도박"}}}, "test");
  EXPECT_EQ(check_quality("Visit our Casino tonight for great prizes", b), "blocked_words");
  EXPECT_EQ(check_quality("불법 도박은 처벌 대상이다", b),
            "blocked_words");  // prefix match with particle
  EXPECT_EQ(check_quality(good_text(), b), "");
}

TEST(QualityFilter, ConfigFromJsonAndBack) {
  FilterConfig c = filter_config_from_json({{"min_chars", 10},
                                            {"max_symbol_ratio", nullptr},
                                            {"script_min", {{"hangul", 0.5}}},
                                            {"max_top_ngram", {{"3", 0.5}}}},
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
  for (const auto& bad :
       {nlohmann::json{{"min_char", 1}}, nlohmann::json{{"min_chars", "ten"}},
        nlohmann::json{{"min_chars", -1}}, nlohmann::json{{"script_min", {{"klingon", 0.5}}}},
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

TEST(QualityFilter, EveryScriptOfTheClassifierCanBeFiltered) {
  FilterConfig c = filter_config_from_json({{"script_min", {{"cyrillic", 0.5}}}}, "test");
  EXPECT_EQ(c.script_min.at(Script::kCyrillic), 0.5);
  EXPECT_EQ(check_quality("Мы обсудили новый план работы на следующий год вместе", c), "");
  EXPECT_EQ(check_quality("We discussed the new work plan for next year together", c),
            "script_min:cyrillic");
  try {
    filter_config_from_json({{"script_max", {{"klingon", 0.5}}}}, "recipe.yaml: filter");
    FAIL() << "unknown script accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown script 'klingon' (expected one of hangul, latin"),
              std::string::npos)
        << e.what();
  }
}

TEST(TextStats, MarkdownTableSyntaxIsNotCountedAsWords) {
  const TextStats s = compute_text_stats("| Name | Team |\n| --- | :---: |\n| Kim | R-D |");
  EXPECT_EQ(s.n_words, 4);  // Name Team Kim R-D, and nothing of the rules and pipes
  EXPECT_EQ(s.n_table_words, 4);
  EXPECT_EQ(s.n_table_rows, 2);  // the rule row is no line
  EXPECT_EQ(s.n_lines, 2);
  EXPECT_EQ(s.n_symbols, 0);
  EXPECT_EQ(
      check_quality(
          "Staff by team is listed below for the whole company.\n\n| Name | Team |\n| --- | --- |\n"
          "| Kim | Research |\n| Lee | Sales |",
          FilterConfig{}),
      "");
}

// Tables as ingest writes them (markdown_table): figures, units, currency
// signs, repeated cells and rule rows. Judged as prose, this report fails
// symbol_ratio (pipes, ₩), digit_ratio and repeated_lines; judged as
// tables it passes, while the same cells as symbol noise still fail.
TEST(QualityFilter, MarkdownTablesAreJudgedAsTables) {
  const std::string prose =
      "2024년 분기별 매출 현황은 아래 표와 같으며 하반기에 성장세가 뚜렷했다. 설비 투자와 "
      "해외 진출 계획도 함께 정리했다.\n\n";
  const std::string tables =
      "| 분기 | 매출(억 원) | 비용(억 원) | 이익률 |\n| --- | ---: | ---: | ---: |\n"
      "| 1분기 | 1,200 | 800 | 33.3% |\n| 2분기 | 1,350 | 900 | 33.3% |\n"
      "| 3분기 | 1,500 | 950 | 36.7% |\n| 4분기 | 1,700 | 1,000 | 41.2% |\n\n"
      "| 항목 | 상반기 | 하반기 |\n| --- | --- | --- |\n| 신규 채용 | 있음 | 있음 |\n"
      "| 해외 진출 | 없음 | 있음 |\n| 설비 투자 | ₩120 | ₩300 |\n| 비고 | - | - |\n"
      "| 비고 | - | - |\n\n| 지점 | 인원 |\n| --- | --- |\n| 서울 | 120 |\n| 부산 | 45 |";
  const TextStats s = compute_text_stats(prose + tables);
  EXPECT_EQ(s.n_table_rows, 14);
  EXPECT_EQ(s.n_symbols, 0);
  EXPECT_EQ(s.n_digits, 4);     // "2024" in the prose
  EXPECT_EQ(s.n_dup_lines, 0);  // rule rows and the repeated 비고 row
  EXPECT_EQ(check_quality(prose + tables, FilterConfig{}), "");
  // A document that is only a table passes too (no prose to judge).
  EXPECT_EQ(check_quality(tables, FilterConfig{}), "");

  // The same cells without the table syntax are symbol and digit noise.
  std::string noise = prose + tables;
  for (char& c : noise) {
    if (c == '|') c = '#';
  }
  EXPECT_NE(check_quality(noise, FilterConfig{}), "");
  // Prose rules still see the prose: noisy prose next to a table fails.
  EXPECT_EQ(check_quality("★★★ ♥♥♥ ★★★ ♥♥♥ 최저가 ★★★ ♥♥♥\n\n" + tables, FilterConfig{}),
            "symbol_ratio");
  // Word counts include the cells.
  FilterConfig min_words;
  min_words.min_words = 40;
  EXPECT_EQ(check_quality(tables, min_words), "");
  min_words.min_words = 200;
  EXPECT_EQ(check_quality(tables, min_words), "min_words");
}

}  // namespace
}  // namespace enclave::data
