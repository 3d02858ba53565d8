#include "data/dedup.h"

#include <xxhash.h>

#include <algorithm>
#include <string>

#include "core/error.h"

namespace enclave::data {

DedupConfig dedup_config_from_json(const nlohmann::json& params, std::string_view what) {
  DedupConfig c;
  if (params.is_null()) return c;
  if (!params.is_object()) fail_input("{}: expected an object of dedup settings", what);
  for (const auto& item : params.items()) {
    // Named, not a structured binding: clang 14 (make fuzz) cannot capture those.
    const std::string& key = item.key();
    const nlohmann::json& v = item.value();
    auto need_int = [&] {
      if (!v.is_number_integer())
        fail_input("{}: '{}': expected an integer, got {}", what, key, v.type_name());
      return v.get<std::int64_t>();
    };
    if (key == "exact" || key == "near") {
      if (!v.is_boolean()) fail_input("{}: '{}': expected true or false", what, key);
      (key == "exact" ? c.exact : c.near) = v.get<bool>();
    } else if (key == "num_perm") {
      c.minhash.num_perm = static_cast<int>(std::clamp<std::int64_t>(need_int(), -1, 1 << 20));
    } else if (key == "bands") {
      c.minhash.bands = static_cast<int>(std::clamp<std::int64_t>(need_int(), -1, 1 << 20));
    } else if (key == "ngram") {
      c.minhash.ngram = static_cast<int>(std::clamp<std::int64_t>(need_int(), -1, 1 << 20));
    } else if (key == "seed") {
      c.minhash.seed = static_cast<std::uint64_t>(need_int());
    } else if (key == "threshold") {
      if (!v.is_number()) fail_input("{}: 'threshold': expected a number", what);
      c.minhash.threshold = v.get<double>();
    } else if (key == "shingle") {
      if (v == "char") {
        c.minhash.shingle = ShingleKind::kChar;
      } else if (v == "word") {
        c.minhash.shingle = ShingleKind::kWord;
      } else {
        fail_input("{}: 'shingle': expected \"char\" or \"word\"", what);
      }
    } else {
      fail_input("{}: unknown dedup setting '{}'", what, key);
    }
  }
  validate(c.minhash, what);
  return c;
}

nlohmann::json to_json(const DedupConfig& c) {
  nlohmann::json j = to_json(c.minhash);
  j["exact"] = c.exact;
  j["near"] = c.near;
  return j;
}

ExactKey exact_key(std::string_view text) {
  std::string folded;
  fold_for_dedup(text, folded);
  const XXH128_hash_t h = XXH3_128bits(folded.data(), folded.size());
  return {h.low64, h.high64};
}

Deduplicator::Deduplicator(const DedupConfig& config) : config_(config), hasher_(config.minhash) {}

Fingerprint Deduplicator::fingerprint(std::string_view text) const {
  Fingerprint fp;
  fp.exact = exact_key(text);
  if (config_.near) {
    fp.signature = hasher_.signature(text);
    fp.bands = hasher_.band_keys(fp.signature);
  }
  return fp;
}

std::optional<DuplicateMatch> Deduplicator::add(std::size_t index, const Fingerprint& fp) {
  if (config_.exact) {
    auto [it, inserted] = exact_.try_emplace(fp.exact, index);
    if (!inserted) return DuplicateMatch{DuplicateKind::kExact, it->second, 1.0};
  }
  if (!config_.near) {
    ++n_kept_;
    return std::nullopt;
  }
  const auto k = static_cast<std::size_t>(config_.minhash.num_perm);
  const auto slot = static_cast<std::uint32_t>(kept_index_.size());
  std::optional<DuplicateMatch> best;
  for (std::size_t band = 0; band < fp.bands.size(); ++band) {
    const std::uint64_t key = fp.bands[band] ^ (0x9E3779B97F4A7C15ull * (band + 1));
    auto it = buckets_.find(key);
    if (it == buckets_.end()) continue;
    const std::uint32_t other = it->second;
    std::size_t equal = 0;
    const std::uint32_t* s = kept_signatures_.data() + other * k;
    for (std::size_t i = 0; i < k; ++i) equal += s[i] == fp.signature[i];
    const double similarity = static_cast<double>(equal) / static_cast<double>(k);
    if (similarity >= config_.minhash.threshold && (!best || similarity > best->similarity)) {
      best = DuplicateMatch{DuplicateKind::kNear, kept_index_[other], similarity};
    }
  }
  if (best) {
    if (config_.exact) exact_.erase(fp.exact);  // only kept documents stay in the index
    return best;
  }
  for (std::size_t band = 0; band < fp.bands.size(); ++band) {
    buckets_.try_emplace(fp.bands[band] ^ (0x9E3779B97F4A7C15ull * (band + 1)), slot);
  }
  kept_signatures_.insert(kept_signatures_.end(), fp.signature.begin(), fp.signature.end());
  kept_index_.push_back(index);
  ++n_kept_;
  return std::nullopt;
}

}  // namespace enclave::data
