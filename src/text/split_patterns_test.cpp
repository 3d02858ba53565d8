#include "text/split_patterns.h"

#include <gtest/gtest.h>

namespace enclave {
namespace {

std::vector<std::string> split(SplitPattern p, const std::string& text) {
  std::vector<std::string> out;
  std::size_t expected_start = 0;
  for (const auto& [first, last] : find_split_matches(p, text)) {
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

TEST(SplitPatterns, RecognisesOnlyTheKnownRegexes) {
  for (SplitPattern p : {SplitPattern::kGpt2, SplitPattern::kLlama3, SplitPattern::kQwen2}) {
    EXPECT_EQ(recognize_split_pattern(split_pattern_regex(p)), p);
  }
  EXPECT_EQ(recognize_split_pattern(R"(\w+|[^\w\s]+)"), std::nullopt);
  EXPECT_EQ(recognize_split_pattern(""), std::nullopt);
  EXPECT_TRUE(find_split_matches(SplitPattern::kGpt2, "").empty());
}

}  // namespace
}  // namespace enclave
