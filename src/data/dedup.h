// Deduplication: exact (on lightly normalised text) and near-duplicate
// (MinHash + LSH, see minhash.h), keeping the first document of each cluster
// in input order. Documents are decided one at a time against the documents
// kept so far, so the output can stream: a cluster is a kept document and
// every later document found to duplicate it. Fingerprints (the expensive
// part) are computed in parallel; decisions are made in order.
//
// Memory: per kept document, its signature (num_perm x 4 bytes), one
// bucket entry per band and a 16-byte exact key; removed documents cost
// nothing. A band key already taken by an earlier kept document that failed
// the similarity check keeps pointing at that document: a later match through
// that one band is missed (other bands still find it).
// Thread safety: fingerprint() is safe from any thread; add() is called
// from one thread, in document order.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/minhash.h"

namespace enclave::data {

struct DedupConfig {
  bool exact = true;
  bool near = true;
  MinHashConfig minhash;
};

// Keys: "exact", "near" (bools), "num_perm", "bands", "threshold", "shingle"
// ("char" | "word"), "ngram", "seed". Throws Error(kInvalidInput) naming
// `what` and the key for unknown keys or bad values.
DedupConfig dedup_config_from_json(const nlohmann::json& params, std::string_view what);
nlohmann::json to_json(const DedupConfig& config);

struct ExactKey {
  std::uint64_t lo = 0, hi = 0;
  bool operator==(const ExactKey&) const = default;
};
// 128-bit hash of text with ASCII lowercased and whitespace runs collapsed,
// so copies that differ only in case or spacing are exact duplicates.
ExactKey exact_key(std::string_view text);

struct Fingerprint {
  ExactKey exact;
  std::vector<std::uint32_t> signature;  // empty when near dedup is off
  std::vector<std::uint64_t> bands;
};

enum class DuplicateKind { kExact, kNear };

struct DuplicateMatch {
  DuplicateKind kind = DuplicateKind::kExact;
  std::size_t kept = 0;     // index (as given to add) of the kept document
  double similarity = 1.0;  // estimated Jaccard similarity (1 for exact)
};

class Deduplicator {
 public:
  explicit Deduplicator(const DedupConfig& config);

  Fingerprint fingerprint(std::string_view text) const;

  // Decides document `index` (strictly increasing): nullopt if it is kept
  // (it then joins the index), else what it duplicates.
  std::optional<DuplicateMatch> add(std::size_t index, const Fingerprint& fp);

  const DedupConfig& config() const { return config_; }
  std::size_t n_kept() const { return n_kept_; }

 private:
  struct ExactHash {
    std::size_t operator()(const ExactKey& k) const {
      return static_cast<std::size_t>(k.lo ^ (k.hi * 31));
    }
  };

  DedupConfig config_;
  MinHasher hasher_;
  std::unordered_map<ExactKey, std::size_t, ExactHash> exact_;
  std::unordered_map<std::uint64_t, std::uint32_t>
      buckets_;                                 // band key (salted by band) -> kept slot
  std::vector<std::uint32_t> kept_signatures_;  // num_perm per kept slot
  std::vector<std::size_t> kept_index_;         // kept slot -> document index
  std::size_t n_kept_ = 0;
};

}  // namespace enclave::data
