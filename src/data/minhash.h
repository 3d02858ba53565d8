// MinHash signatures and LSH banding for near-duplicate detection (Broder
// 1997, "On the resemblance and containment of documents"; banding as in
// Leskovec, Rajaraman, Ullman, "Mining of Massive Datasets", ch. 3.4).
//
// A document is a set of shingles: character n-grams of its text (lowercased,
// whitespace collapsed) or word n-grams. Each shingle is hashed once to 64
// bits (xxh3); permutation i maps it to (a_i * h + b_i) >> 32, a
// multiply-shift universal hash, and the signature keeps each permutation's
// minimum. Two signatures agree in a slot with probability equal to the
// Jaccard similarity of the shingle sets. Banding splits the signature into
// `bands` bands of `rows` slots; documents sharing any whole band become
// candidates, with probability 1 - (1 - s^rows)^bands for similarity s, an
// S-curve whose midpoint sits near (1/bands)^(1/rows). Candidates are then
// confirmed by the signature estimate against `threshold`.
// Thread safety: a MinHasher is immutable; signature() is safe from any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

namespace enclave::data {

enum class ShingleKind { kChar, kWord };

struct MinHashConfig {
  int num_perm = 128;
  int bands = 16;  // num_perm must be a multiple of bands
  double threshold = 0.8;
  ShingleKind shingle = ShingleKind::kChar;
  int ngram = 5;  // characters or words per shingle
  std::uint64_t seed = 42;

  int rows() const { return num_perm / bands; }
};

// Throws Error(kInvalidInput) naming `what` and the field for a config that
// cannot work (num_perm < 1 or not a multiple of bands, threshold outside
// (0, 1], ngram < 1, more than 1024 permutations).
void validate(const MinHashConfig& config, std::string_view what);

// text with ASCII letters lowercased and whitespace runs collapsed to one
// space (none leading or trailing): what exact and near dedup compare.
void fold_for_dedup(std::string_view text, std::string& folded);
nlohmann::json to_json(const MinHashConfig& config);

// Probability that two documents with Jaccard similarity s share a band.
double lsh_candidate_probability(double s, int bands, int rows);

class MinHasher {
 public:
  explicit MinHasher(const MinHashConfig& config);

  // num_perm minima; a text with no shingle (shorter than ngram) gets a
  // signature of all UINT32_MAX, which matches only other such texts.
  std::vector<std::uint32_t> signature(std::string_view text) const;
  // One 64-bit key per band.
  std::vector<std::uint64_t> band_keys(const std::vector<std::uint32_t>& signature) const;

  const MinHashConfig& config() const { return config_; }

 private:
  MinHashConfig config_;
  std::vector<std::uint64_t> a_;
  std::vector<std::uint64_t> b_;
};

// Fraction of equal slots: the estimate of the Jaccard similarity.
double estimate_similarity(const std::vector<std::uint32_t>& a,
                           const std::vector<std::uint32_t>& b);

// The 64-bit hashes of the shingles of text (the set MinHash summarises).
std::vector<std::uint64_t> shingle_hashes(std::string_view text, ShingleKind kind, int ngram);

}  // namespace enclave::data
