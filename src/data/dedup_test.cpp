#include "data/dedup.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace enclave::data {
namespace {

std::vector<std::string> random_words(int n, std::mt19937& rng) {
  static const char* kVocab[] = {
      "data",   "model",  "train",  "token",   "layer",   "weight", "graph",  "report",   "budget",
      "office", "policy", "review", "quality", "network", "server", "client", "document", "회사",
      "예산",   "보고서", "정책",   "검토",    "품질",    "문서",   "서버",   "고객",     "계획"};
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back(kVocab[rng() % std::size(kVocab)] + std::to_string(rng() % 50));
  return out;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

// Lowercase ASCII words of 4 to 8 random letters, so that a text's shingles
// can be listed by the test itself, byte by byte.
std::vector<std::string> letter_words(int n, std::mt19937& rng) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string w(4 + rng() % 5, 'a');
    for (char& c : w) c = static_cast<char>('a' + rng() % 26);
    out.push_back(std::move(w));
  }
  return out;
}

// The shingle sets, computed here independently of minhash.cpp: character
// n-grams of a lowercase, single-spaced ASCII text are its substrings;
// word n-grams are runs of n words.
std::set<std::string> char_shingles(const std::string& text, std::size_t n) {
  std::set<std::string> out;
  for (std::size_t i = 0; i + n <= text.size(); ++i) out.insert(text.substr(i, n));
  return out;
}

std::set<std::string> word_shingles(const std::vector<std::string>& words, std::size_t n) {
  std::set<std::string> out;
  for (std::size_t i = 0; i + n <= words.size(); ++i) {
    std::vector<std::string> gram(words.begin() + static_cast<std::ptrdiff_t>(i),
                                  words.begin() + static_cast<std::ptrdiff_t>(i + n));
    out.insert(join(gram));
  }
  return out;
}

double exact_jaccard(const std::set<std::string>& x, const std::set<std::string>& y) {
  std::vector<std::string> both;
  std::set_intersection(x.begin(), x.end(), y.begin(), y.end(), std::back_inserter(both));
  return double(both.size()) / double(x.size() + y.size() - both.size());
}

// A copy of words whose last k words are replaced by fresh ones, with k
// chosen so that the exact character 5-gram Jaccard is as close to target
// as possible (it falls as k grows). Returns the copy and that Jaccard.
std::pair<std::string, double> variant_at(const std::vector<std::string>& words, double target,
                                          std::mt19937& rng) {
  const std::string base = join(words);
  const auto base_shingles = char_shingles(base, 5);
  const auto fresh = letter_words(static_cast<int>(words.size()), rng);
  std::pair<std::string, double> best{"", -1};
  for (std::size_t k = 1; k < words.size(); ++k) {
    auto copy = words;
    for (std::size_t i = words.size() - k; i < words.size(); ++i) copy[i] = fresh[i];
    const std::string text = join(copy);
    const double j = exact_jaccard(base_shingles, char_shingles(text, 5));
    if (best.second < 0 || std::abs(j - target) < std::abs(best.second - target)) best = {text, j};
    if (j < target) break;
  }
  return best;
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
    const double est =
        estimate_similarity(hasher.signature(join(words)), hasher.signature(join(other)));
    max_diff = std::max(max_diff, std::abs(j - est));
  }
  std::printf("minhash estimate vs exact Jaccard: max diff %.4f\n", max_diff);
  EXPECT_LT(max_diff, 0.12);
}

TEST(MinHash, CandidateCurve) {
  EXPECT_NEAR(lsh_candidate_probability(0.9, 16, 8), 1.0 - std::pow(1 - std::pow(0.9, 8), 16),
              1e-12);
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
    for (std::size_t i = 0; i < far.size(); i += 2)
      far[i] = random_words(1, rng)[0];  // half the words: ~0.3
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
  std::printf("near duplicates found %d/%d, false matches %d/%d\n", near_found, near_total,
              far_found, far_total);
  EXPECT_GE(near_found, near_total - 1);
  EXPECT_EQ(far_found, 0);
}

// Probes the threshold from both sides with pairs whose character 5-gram
// Jaccard is computed exactly: ~0.85 must be found, ~0.70 kept apart at 0.8.
// 512 permutations put the estimate's standard error near 0.016, so a 0.85
// pair falls under 0.8 about once in a thousand; 64 bands of 8 rows make
// both kinds of pair LSH candidates, so it is the threshold that decides.
TEST(Dedup, ThresholdSeparatesJaccard085From070) {
  std::mt19937 rng(2024);
  DedupConfig config;
  config.exact = false;
  config.minhash.num_perm = 512;
  config.minhash.bands = 64;
  config.minhash.threshold = 0.8;
  Deduplicator dedup(config);
  std::size_t index = 0;
  double min_near = 1, max_far = 0, max_diff = 0;
  for (int pair = 0; pair < 8; ++pair) {
    const auto words = letter_words(200, rng);
    const std::string base = join(words);
    ASSERT_EQ(char_shingles(base, 5).size(), shingle_hashes(base, ShingleKind::kChar, 5).size());
    const auto [near, j_near] = variant_at(words, 0.85, rng);
    const auto [far, j_far] = variant_at(words, 0.70, rng);
    ASSERT_NEAR(j_near, 0.85, 0.015);
    ASSERT_NEAR(j_far, 0.70, 0.015);

    const std::size_t kept = index;
    ASSERT_FALSE(dedup.add(index++, dedup.fingerprint(base)))
        << "pair " << pair << ": unrelated documents are kept";
    const auto f = dedup.add(index++, dedup.fingerprint(far));
    EXPECT_FALSE(f) << "pair " << pair << ": Jaccard " << j_far << " matched at similarity "
                    << f->similarity;
    const auto m = dedup.add(index++, dedup.fingerprint(near));
    ASSERT_TRUE(m) << "pair " << pair << ": Jaccard " << j_near << " not found";
    EXPECT_EQ(m->kind, DuplicateKind::kNear);
    EXPECT_EQ(m->kept, kept);
    min_near = std::min(min_near, m->similarity);
    max_diff = std::max(max_diff, std::abs(m->similarity - j_near));
    const MinHasher hasher(config.minhash);
    const double est_far = estimate_similarity(hasher.signature(base), hasher.signature(far));
    max_far = std::max(max_far, est_far);
    max_diff = std::max(max_diff, std::abs(est_far - j_far));
  }
  std::printf(
      "threshold 0.8: lowest estimate of J~0.85 pairs %.3f, highest of J~0.70 pairs %.3f, maxdiff "
      "%.3f\n",
      min_near, max_far, max_diff);
  EXPECT_LT(max_diff, 0.06);
}

// Word n-gram shingles are really used: the signature tracks the exact word
// 3-gram Jaccard, a copy with three words replaced is found, and a copy
// that keeps every character 5-gram inside the words but changes every
// third word shares no word 3-gram and is kept.
TEST(Dedup, WordShinglesFindNearDuplicates) {
  std::mt19937 rng(99);
  DedupConfig config;
  config.exact = false;
  config.minhash.shingle = ShingleKind::kWord;
  config.minhash.ngram = 3;
  Deduplicator dedup(config);
  const auto words = letter_words(150, rng);
  auto edited = words;
  for (std::size_t at : {20u, 75u, 130u}) edited[at] = "replacement";
  auto plural = words;
  for (std::size_t i = 0; i < plural.size(); i += 3) plural[i] += 's';
  const std::string base = join(words), near = join(edited), far = join(plural);

  const auto base_grams = word_shingles(words, 3);
  EXPECT_EQ(shingle_hashes(base, ShingleKind::kWord, 3).size(), base_grams.size());
  EXPECT_NE(shingle_hashes(base, ShingleKind::kChar, 3).size(), base_grams.size());
  const double j_near = exact_jaccard(base_grams, word_shingles(edited, 3));
  const double j_far = exact_jaccard(base_grams, word_shingles(plural, 3));
  EXPECT_NEAR(j_near, 0.885, 0.01);  // 9 of 148 trigrams changed on each side
  EXPECT_EQ(j_far, 0.0);
  EXPECT_GT(exact_jaccard(char_shingles(base, 5), char_shingles(far, 5)), 0.6);

  ASSERT_FALSE(dedup.add(0, dedup.fingerprint(base)));
  const auto m = dedup.add(1, dedup.fingerprint(near));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, DuplicateKind::kNear);
  EXPECT_EQ(m->kept, 0u);
  std::printf("word 3-grams: exact Jaccard %.3f, estimate %.3f\n", j_near, m->similarity);
  EXPECT_NEAR(m->similarity, j_near, 0.1);
  EXPECT_FALSE(dedup.add(2, dedup.fingerprint(far)));
  EXPECT_EQ(dedup.n_kept(), 2u);
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
  EXPECT_EQ(dedup_config_from_json({{"num_perm", 64}, {"bands", 8}, {"shingle", "word"}}, "t")
                .minhash.rows(),
            8);
  for (const auto& bad :
       {nlohmann::json{{"num_perm", 100}, {"bands", 16}}, nlohmann::json{{"threshold", 1.5}},
        nlohmann::json{{"shingle", "byte"}}, nlohmann::json{{"ngram", 0}},
        nlohmann::json{{"bogus", 1}}, nlohmann::json{{"num_perm", "many"}}}) {
    EXPECT_THROW(dedup_config_from_json(bad, "t"), Error) << bad.dump();
  }
}

}  // namespace
}  // namespace enclave::data
