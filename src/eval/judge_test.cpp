#include "eval/judge.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/template.h"

namespace enclave::eval {
namespace {

TEST(JudgeTest, ParsesRatings) {
  JudgeSpec spec;  // 1..10, "[[N]]" or "Rating: N"
  EXPECT_EQ(parse_judge_score("Good answer. Rating: [[8]]", spec), 8.0);
  EXPECT_EQ(parse_judge_score("[[ 7.5 ]] then [[2]]", spec), 7.5);  // the first one
  EXPECT_EQ(parse_judge_score("rating: 3", spec), 3.0);
  EXPECT_EQ(parse_judge_score("I would say eight", spec), std::nullopt);
  EXPECT_EQ(parse_judge_score("Rating: [[11]]", spec), std::nullopt);  // outside the scale
  EXPECT_EQ(parse_judge_score("Rating: [[0]]", spec), std::nullopt);
  spec.score_regex = R"(Score=(\d+))";
  EXPECT_EQ(parse_judge_score("Score=4 [[9]]", spec), 4.0);
}

TEST(JudgeTest, PairwiseVotesAndPositionSwap) {
  EXPECT_EQ(parse_pairwise_vote("A is better. [[A]]"), PairwiseVote::kA);
  EXPECT_EQ(parse_pairwise_vote("[[B]]"), PairwiseVote::kB);
  EXPECT_EQ(parse_pairwise_vote("tie [[C]]"), PairwiseVote::kTie);
  EXPECT_EQ(parse_pairwise_vote("[[A]] or maybe [[B]]"), PairwiseVote::kInvalid);
  EXPECT_EQ(parse_pairwise_vote("no verdict"), PairwiseVote::kInvalid);

  bool invalid = false;
  // The model is A first, B second: winning both orders is a win.
  EXPECT_EQ(pairwise_outcome(PairwiseVote::kA, PairwiseVote::kB, invalid), 1.0);
  EXPECT_FALSE(invalid);
  EXPECT_EQ(pairwise_outcome(PairwiseVote::kB, PairwiseVote::kA, invalid), 0.0);
  // A judge that always prefers the first position disagrees with itself: tie.
  EXPECT_EQ(pairwise_outcome(PairwiseVote::kA, PairwiseVote::kA, invalid), 0.5);
  EXPECT_EQ(pairwise_outcome(PairwiseVote::kTie, PairwiseVote::kTie, invalid), 0.5);
  EXPECT_EQ(pairwise_outcome(PairwiseVote::kA, PairwiseVote::kInvalid, invalid), 0.5);
  EXPECT_TRUE(invalid);
}

TEST(JudgeTest, DefaultRubricsRender) {
  JudgeSpec spec;
  nlohmann::json fields = {
      {"prompt", "Why?"}, {"response", "Because."}, {"response_a", "A"}, {"response_b", "B"}};
  const std::string single = render_template(default_single_rubric(spec), fields, "rubric");
  EXPECT_NE(single.find("Why?"), std::string::npos);
  EXPECT_NE(single.find("Because."), std::string::npos);
  EXPECT_NE(single.find("from 1 to 10"), std::string::npos);
  const std::string pair = render_template(default_pairwise_rubric(), fields, "rubric");
  EXPECT_LT(pair.find("A's Answer]\nA"), pair.find("B's Answer]\nB"));
}

TEST(JudgeTest, RejectsBadUrls) {
  JudgeSpec spec;
  spec.url = "ftp://judge/v1";
  EXPECT_THROW(make_judge_backend(spec, {}), Error);
  spec.url = "http:///v1";
  EXPECT_THROW(make_judge_backend(spec, {}), Error);
  spec.url = "http://127.0.0.1:9/v1";
  spec.api_key_env = "ENCLAVE_TEST_SURELY_UNSET_KEY";
  EXPECT_THROW(make_judge_backend(spec, {}), Error);
}

}  // namespace
}  // namespace enclave::eval
