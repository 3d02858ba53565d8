#include "data/dedup.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"

namespace enclave::data {
namespace {

std::vector<std::string> random_words(int n, std::mt19937& rng) {
  static const char* kVocab[] = {"data", "model", "train", "token", "layer", "weight", "graph", "report", "budget",
                                 "office", "policy", "review", "quality", "network", "server", "client", "document",
                                 "회사", "예산", "보고서", "정책", "검토", "품질", "문서", "서버", "고객", "계획"};
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(kVocab[rng() % std::size(kVocab)] + std::to_string(rng() % 50));
  return out;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

double true_jaccard(const std::string& a, const std::string& b, const MinHashConfig& c) {
  auto x = shingle_hashes(a, c.shingle, c.ngram);
  auto y = shingle_hashes(b, c.shingle, c.ngram);
  std::vector<std::uint64_t> both;
  std::set_intersection(x.begin(), x.end(), y.begin(), y.end(), std::back_inserter(both));
  return double(both.size()) / double(x.size() + y.size() - both.size());
}

TEST(MinHash, EstimateTracksJaccard) {
  std::mt19937 rng(7);
  MinHashConfig c;
  c.num_perm = 256;
  c.bands = 32;
  MinHasher hasher(c);
  double max_diff = 0;
  for (int edits : {0, 2, 5, 10, 20, 40}) {
    auto words = random_words(120, rng);
    auto other = words;
    for (int e = 0; e < edits; ++e) other[rng() % other.size()] = random_words(1, rng)[0];
    const double j = true_jaccard(join(words), join(other), c);
    const double est = estimate_similarity(hasher.signature(join(words)), hasher.signature(join(other)));
    max_diff = std::max(max_diff, std::abs(j - est));
  }
  std::printf("minhash estimate vs exact Jaccard: max diff %.4f\n", max_diff);
  EXPECT_LT(max_diff, 0.12);
}

TEST(MinHash, CandidateCurve) {
  EXPECT_NEAR(lsh_candidate_probability(0.9, 16, 8), 1.0 - std::pow(1 - std::pow(0.9, 8), 16), 1e-12);
  EXPECT_GT(lsh_candidate_probability(0.9, 16, 8), 0.99);
  EXPECT_LT(lsh_candidate_probability(0.3, 16, 8), 0.01);
}

TEST(Dedup, FindsNearDuplicatesAtTheThreshold) {
  std::mt19937 rng(11);
  DedupConfig config;  // char 5-grams, 128 perms, 16 bands, threshold 0.8
  Deduplicator dedup(config);
  int near_found = 0, near_total = 0, far_found = 0, far_total = 0;
  std::size_t index = 0;
  for (int doc = 0; doc < 40; ++doc) {
    auto words = random_words(150, rng);
    const std::string base = join(words);
    ASSERT_FALSE(dedup.add(index++, dedup.fingerprint(base))) << "unrelated documents must be kept";
    auto near = words;
    near[rng() % near.size()] = "changed";  // one word edited: similarity ~0.97
    const double j_near = true_jaccard(base, join(near), config.minhash);
    auto far = words;
    for (std::size_t i = 0; i < far.size(); i += 2) far[i] = random_words(1, rng)[0];  // half the words: ~0.3
    const double j_far = true_jaccard(base, join(far), config.minhash);
    ASSERT_GT(j_near, 0.9);
    ASSERT_LT(j_far, 0.6);
    auto m = dedup.add(index++, dedup.fingerprint(join(near)));
    ++near_total;
    if (m && m->kind == DuplicateKind::kNear && m->kept == index - 2) ++near_found;
    auto f = dedup.add(index++, dedup.fingerprint(join(far)));
    ++far_total;
    if (f) ++far_found;
  }
  std::printf("near duplicates found %d/%d, false matches %d/%d\n", near_found, near_total, far_found, far_total);
  EXPECT_GE(near_found, near_total - 1);
  EXPECT_EQ(far_found, 0);
}

TEST(Dedup, ExactIgnoresCaseAndSpacing) {
  Deduplicator dedup(DedupConfig{.exact = true, .near = false});
  EXPECT_FALSE(dedup.add(0, dedup.fingerprint("Hello   World\nagain")));
  auto m = dedup.add(1, dedup.fingerprint("hello world again"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, DuplicateKind::kExact);
  EXPECT_EQ(m->kept, 0u);
  EXPECT_FALSE(dedup.add(2, dedup.fingerprint("hello world, again")));
  EXPECT_EQ(dedup.n_kept(), 2u);
}

TEST(Dedup, ConfigValidation) {
  EXPECT_EQ(dedup_config_from_json({{"num_perm", 64}, {"bands", 8}, {"shingle", "word"}}, "t").minhash.rows(), 8);
  for (const auto& bad : {nlohmann::json{{"num_perm", 100}, {"bands", 16}}, nlohmann::json{{"threshold", 1.5}},
                          nlohmann::json{{"shingle", "byte"}}, nlohmann::json{{"ngram", 0}},
                          nlohmann::json{{"bogus", 1}}, nlohmann::json{{"num_perm", "many"}}}) {
    EXPECT_THROW(dedup_config_from_json(bad, "t"), Error) << bad.dump();
  }
}

}  // namespace
}  // namespace enclave::data
