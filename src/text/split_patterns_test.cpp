#include "text/split_patterns.h"

#include <gtest/gtest.h>

#include <random>

#include "text/regex.h"
#include "text/utf8.h"

namespace enclave {
namespace {

constexpr SplitPattern kAll[] = {SplitPattern::kGpt2, SplitPattern::kLlama3, SplitPattern::kQwen2};

// The pieces of the hand-written matcher, checked to tile the text and to
// equal Oniguruma's matches of the same regex.
std::vector<std::string> split(SplitPattern p, const std::string& text) {
  const auto matches = find_split_matches(p, text);
  EXPECT_EQ(matches, Regex(split_pattern_regex(p), "test").find_all(text))
      << "hand-written and Oniguruma differ on '" << text << "'";
  std::vector<std::string> out;
  std::size_t expected_start = 0;
  for (const auto& [first, last] : matches) {
    EXPECT_EQ(first, expected_start) << "matches must tile the text";
    expected_start = last;
    out.push_back(text.substr(first, last - first));
  }
  EXPECT_EQ(expected_start, text.size());
  return out;
}

using Pieces = std::vector<std::string>;
const std::string kSample = "Hello world's  123456 !!\n\n x";

// Expected splits worked out by hand from the regexes (leftmost match,
// first alternative that matches, greedy with backtracking).
TEST(SplitPatterns, Gpt2) {
  EXPECT_EQ(split(SplitPattern::kGpt2, kSample),
            (Pieces{"Hello", " world", "'s", " ", " 123456", " !!", "\n\n", " x"}));
  // Contractions are case-sensitive in GPT-2's regex.
  EXPECT_EQ(split(SplitPattern::kGpt2, "WE'LL it's"), (Pieces{"WE", "'", "LL", " it", "'s"}));
  // \s+(?!\S) at the end takes the whole run.
  EXPECT_EQ(split(SplitPattern::kGpt2, "a  \t "), (Pieces{"a", "  \t "}));
  EXPECT_EQ(split(SplitPattern::kGpt2, "a\tb"), (Pieces{"a", "\t", "b"}));
}

TEST(SplitPatterns, Llama3) {
  EXPECT_EQ(split(SplitPattern::kLlama3, kSample),
            (Pieces{"Hello", " world", "'s", " ", " ", "123", "456", " !!\n\n", " x"}));
  EXPECT_EQ(split(SplitPattern::kLlama3, "WE'LL it's"), (Pieces{"WE", "'LL", " it", "'s"}));
  // A non-letter, non-digit, non-newline character may lead a word.
  EXPECT_EQ(split(SplitPattern::kLlama3, "(hello)\tworld"), (Pieces{"(hello", ")", "\tworld"}));
  // \s*[\r\n]+ ends at the last newline of a whitespace run.
  EXPECT_EQ(split(SplitPattern::kLlama3, "a \n \n  b"), (Pieces{"a", " \n \n", " ", " b"}));
  EXPECT_EQ(split(SplitPattern::kLlama3, "x\r\n"), (Pieces{"x", "\r\n"}));
  EXPECT_EQ(split(SplitPattern::kLlama3, "1234567"), (Pieces{"123", "456", "7"}));
  EXPECT_EQ(split(SplitPattern::kLlama3, "end   "), (Pieces{"end", "   "}));
}

TEST(SplitPatterns, Qwen2SplitsDigitsOneByOne) {
  EXPECT_EQ(
      split(SplitPattern::kQwen2, kSample),
      (Pieces{"Hello", " world", "'s", " ", " ", "1", "2", "3", "4", "5", "6", " !!\n\n", " x"}));
}

TEST(SplitPatterns, UnicodeClasses) {
  // Hangul syllables are letters; the ideographic space is whitespace;
  // emoji are neither letters nor numbers.
  EXPECT_EQ(split(SplitPattern::kLlama3, "한국어 문장\u3000ok"),
            (Pieces{"한국어", " 문장", "\u3000ok"}));
  EXPECT_EQ(split(SplitPattern::kGpt2, "한국어 👍🏽👍 x"),
            (Pieces{"한국어", " 👍🏽👍", " x"}));
  EXPECT_EQ(split(SplitPattern::kLlama3, "Ⅻ٣٤"),
            (Pieces{"Ⅻ٣٤"}));  // \p{N} covers Nl and other scripts' digits
  EXPECT_EQ(split(SplitPattern::kLlama3, "👨‍👩‍👧!\n"),
            (Pieces{"👨‍👩‍👧!\n"}));
}

TEST(SplitPatterns, CaseInsensitiveContractionsFoldTheLongS) {
  // Unicode case folding maps U+017F to s, so Oniguruma's (?i:'s) takes it.
  EXPECT_EQ(split(SplitPattern::kLlama3, "it'ſok"), (Pieces{"it", "'ſ", "ok"}));
  EXPECT_EQ(split(SplitPattern::kGpt2, "it'ſok"), (Pieces{"it", "'", "ſok"}));
}

// The classes the matchers use against Oniguruma's \p{L}, \p{N} and \s on
// every code point (Oniguruma's Unicode tables can lag ICU's).
TEST(SplitPatterns, ClassesAgreeWithOnigurumaOnEveryCodePoint) {
  // GPT-2's pattern joins a code point to the run around it only when they
  // share a class: between letters, digits and punctuation the splits show
  // whether it is a letter, a number, neither (or white space, none of
  // them). Code points go in blocks of 1024 per text; planes 4-13 are
  // unassigned and 15-16 private use, the same in every table.
  const Regex regex(split_pattern_regex(SplitPattern::kGpt2), "test");
  auto agree = [&](const std::string& text) {
    return find_split_matches(SplitPattern::kGpt2, text) == regex.find_all(text);
  };
  std::vector<char32_t> differences;
  for (char32_t block = 1; block < 0xF0000; block += 1024) {
    if (block >= 0x40000 && block < 0xE0000) continue;
    for (const char* around : {"ab", "12", "!?"}) {
      auto context = [&](char32_t c) {
        std::string t(1, around[0]);
        if (c < 0xD800 || c >= 0xE000) append_utf8(t, c);
        return t + around[1];
      };
      std::string text;
      for (char32_t c = block; c < block + 1024; ++c) text += context(c);
      if (agree(text)) continue;
      for (char32_t c = block; c < block + 1024; ++c) {
        if (!agree(context(c))) differences.push_back(c);
      }
    }
  }
  EXPECT_TRUE(differences.empty()) << differences.size() << " differences, first at U+" << std::hex
                                   << static_cast<unsigned>(differences.front());
}

TEST(SplitPatterns, AgreeWithOnigurumaOnRandomText) {
  const std::vector<std::string> alphabet = {
      "a",      "Z", "é",  "ſ",  "한",  "你",  "ア",   "0",      "9",      "٣",      "Ⅻ",
      "½",      " ", "  ", "\t", "\n",  "\r",  "\r\n", "\u3000", "\u0085", "\u00a0", "\u200d",
      "\u0301", "'", "'s", "'S", "'ll", "'LL", "'re",  "'Ve",    "'t",     "'d",     "'M",
      "!",      "(", ".",  ",",  "-",   "_",   "/",    "👍",      "🏽"};
  std::mt19937 rng(7);
  for (SplitPattern p : kAll) {
    const Regex regex(split_pattern_regex(p), "test");
    std::size_t differences = 0;
    std::string first_difference;
    for (int i = 0; i < 20000; ++i) {
      std::string text;
      for (int n = static_cast<int>(rng() % 14); n > 0; --n)
        text += alphabet[rng() % alphabet.size()];
      if (find_split_matches(p, text) != regex.find_all(text) && differences++ == 0) {
        first_difference = text;
      }
    }
    EXPECT_EQ(differences, 0u) << split_pattern_regex(p) << ": first on '" << first_difference
                               << "'";
  }
}

TEST(SplitPatterns, RecognisesOnlyTheKnownRegexes) {
  for (SplitPattern p : kAll) {
    EXPECT_EQ(recognize_split_pattern(split_pattern_regex(p)), p);
  }
  EXPECT_EQ(recognize_split_pattern(R"(\w+|[^\w\s]+)"), std::nullopt);
  EXPECT_EQ(recognize_split_pattern(""), std::nullopt);
  EXPECT_TRUE(find_split_matches(SplitPattern::kGpt2, "").empty());
}

}  // namespace
}  // namespace enclave
