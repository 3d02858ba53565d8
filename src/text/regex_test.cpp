#include "text/regex.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "text/tokenizer_json_testing.h"

namespace enclave {
namespace {

using testing::expect_error;
using Pieces = std::vector<std::string>;

// The text at each match.
Pieces matches(const std::string& pattern, const std::string& text) {
  Pieces out;
  for (const auto& [first, second] : Regex(pattern, "test").find_all(text)) {
    out.push_back(text.substr(first, second - first));
  }
  return out;
}

// As Llama 3's tokenizer.json writes it.
const std::string kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

TEST(Regex, UnicodeClasses) {
  // Hangul and accented Latin are \p{L}; Arabic-Indic digits and Roman
  // numerals are \p{N}; emoji are neither.
  EXPECT_EQ(matches(R"(\p{L}+)", "한국어 ünï 42 👍"), (Pieces{"한국어", "ünï"}));
  EXPECT_EQ(matches(R"(\p{N}+)", "x٣٤Ⅻ 7"), (Pieces{"٣٤Ⅻ", "7"}));
  EXPECT_EQ(matches(R"(\p{N}{1,3})", "1234567"), (Pieces{"123", "456", "7"}));
  EXPECT_EQ(matches(R"([\p{Lu}]+)", "HTTPServer iPhone"), (Pieces{"HTTPS", "P"}));
  // \s is Unicode white space: the ideographic space counts.
  EXPECT_EQ(matches(R"(\s+)", "a\u3000b"), (Pieces{"\u3000"}));
}

TEST(Regex, NegativeLookAhead) {
  // \s+(?!\S) leaves the last space of a run for the word after it.
  EXPECT_EQ(matches(R"(\s+(?!\S))", "a   b"), (Pieces{"  "}));
  EXPECT_EQ(matches(R"(\s+(?!\S))", "a   "), (Pieces{"   "}));
}

TEST(Regex, CaseInsensitiveGroup) {
  EXPECT_EQ(matches(R"((?i:'s|'t|'ll))", "IT'S it's WE'LL 'x"), (Pieces{"'S", "'s", "'LL"}));
  // Unicode case folding, as in Hugging Face: the long s folds to s.
  EXPECT_EQ(matches(R"((?i:'s))", "x'ſ"), (Pieces{"'ſ"}));
  // Only inside the group: the letters after it stay case-sensitive.
  EXPECT_EQ(matches(R"((?i:a)b)", "ab Ab aB"), (Pieces{"ab", "Ab"}));
}

TEST(Regex, EmptyMatchesFollowTheOnigCrate) {
  // find_iter of the onig crate: an empty match steps one character on, and
  // the first empty match after a non-empty one is dropped.
  const std::vector<ByteRange> got = Regex(R"(\s*)", "test").find_all("a b");
  EXPECT_EQ(got, (std::vector<ByteRange>{{0, 0}, {1, 2}, {3, 3}}));
  EXPECT_EQ(Regex("x", "test").find_all(""), (std::vector<ByteRange>{}));
  EXPECT_EQ(Regex("x*", "test").find_all(""), (std::vector<ByteRange>{{0, 0}}));
  EXPECT_EQ(Regex("x*", "test").find_all(std::string_view()), (std::vector<ByteRange>{{0, 0}}));
}

TEST(Regex, BadPatternNamesOriginAndOnigurumaMessage) {
  expect_error([] { Regex("(a", "tokenizer.json: field 'pre_tokenizer.pattern.Regex'"); },
               ErrorKind::kInvalidInput,
               {"tokenizer.json: field 'pre_tokenizer.pattern.Regex'", "'(a'",
                "end pattern with unmatched parenthesis"});
  expect_error([] { Regex(R"(\p{NoSuchClass})", "here"); }, ErrorKind::kInvalidInput,
               {"here", "invalid character property name"});
}

TEST(Regex, CatastrophicBacktrackingGivesUp) {
  // (a+)+b on a's alone backtracks exponentially; the match retry limit
  // stops it in well under a second instead of hanging.
  const Regex r("(a+)+b", "field 'x'");
  expect_error([&] { (void)r.find_all(std::string(40, 'a') + "!"); }, ErrorKind::kInvalidInput,
               {"field 'x'", "(a+)+b", "retry-limit-in-match over"});
  // A search that finds nothing costs about one step per byte: a long text
  // stays under the search limit.
  EXPECT_TRUE(Regex(R"(\p{N}{1,3})", "test").find_all(std::string(1 << 20, 'e')).empty());
}

TEST(Regex, SharedAcrossThreads) {
  const Regex r(kLlama3, "test");
  const std::string text = "Hello world's  123456 !!\n\n x 한국어 문장 1234567";
  const std::vector<ByteRange> expected = r.find_all(text);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      bool same = true;
      for (int i = 0; i < 200; ++i) same = same && r.find_all(text) == expected;
      ok[t] = same ? 1 : 0;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok, (std::vector<int>{1, 1, 1, 1}));
}

}  // namespace
}  // namespace enclave
