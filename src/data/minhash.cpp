#include "data/minhash.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "core/error.h"
#include "text/utf8.h"

namespace enclave::data {

void validate(const MinHashConfig& c, std::string_view what) {
  if (c.num_perm < 1 || c.num_perm > 1024)
    fail_input("{}: 'num_perm' must be 1..1024, got {}", what, c.num_perm);
  if (c.bands < 1 || c.num_perm % c.bands != 0) {
    fail_input("{}: 'bands' must divide num_perm ({}), got {}", what, c.num_perm, c.bands);
  }
  if (!(c.threshold > 0 && c.threshold <= 1))
    fail_input("{}: 'threshold' must be in (0, 1], got {}", what, c.threshold);
  if (c.ngram < 1 || c.ngram > 64) fail_input("{}: 'ngram' must be 1..64, got {}", what, c.ngram);
}

nlohmann::json to_json(const MinHashConfig& c) {
  return {{"num_perm", c.num_perm},
          {"bands", c.bands},
          {"rows", c.rows()},
          {"threshold", c.threshold},
          {"shingle", c.shingle == ShingleKind::kChar ? "char" : "word"},
          {"ngram", c.ngram},
          {"seed", c.seed}};
}

double lsh_candidate_probability(double s, int bands, int rows) {
  return 1.0 - std::pow(1.0 - std::pow(s, rows), bands);
}

void fold_for_dedup(std::string_view text, std::string& folded) {
  folded.clear();
  folded.reserve(text.size());
  bool space = false;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !folded.empty();
      continue;
    }
    if (space) folded += ' ';
    space = false;
    folded += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : static_cast<char>(c);
  }
}

namespace {

// Lowercased (ASCII) code points with whitespace runs collapsed to one space.
std::vector<std::string_view> char_units(std::string_view text, std::string& folded) {
  fold_for_dedup(text, folded);
  std::vector<std::string_view> units;
  units.reserve(folded.size());
  std::size_t pos = 0;
  while (pos < folded.size()) {
    const std::size_t start = pos;
    next_code_point(folded, pos);
    units.emplace_back(folded.data() + start, pos - start);
  }
  return units;
}

}  // namespace

std::vector<std::uint64_t> shingle_hashes(std::string_view text, ShingleKind kind, int ngram) {
  std::vector<std::uint64_t> out;
  const auto n = static_cast<std::size_t>(ngram);
  if (kind == ShingleKind::kChar) {
    std::string folded;
    const auto units = char_units(text, folded);
    if (units.size() < n) return out;
    out.reserve(units.size() - n + 1);
    for (std::size_t i = 0; i + n <= units.size(); ++i) {
      const char* begin = units[i].data();
      const char* end = units[i + n - 1].data() + units[i + n - 1].size();
      out.push_back(XXH3_64bits(begin, static_cast<std::size_t>(end - begin)));
    }
  } else {
    std::vector<std::uint64_t> words;
    std::size_t pos = 0;
    while (pos < text.size()) {
      while (pos < text.size() &&
             (text[pos] == ' ' || text[pos] == '\n' || text[pos] == '\t' || text[pos] == '\r'))
        ++pos;
      std::size_t end = pos;
      while (end < text.size() &&
             !(text[end] == ' ' || text[end] == '\n' || text[end] == '\t' || text[end] == '\r'))
        ++end;
      if (end > pos) words.push_back(XXH3_64bits(text.data() + pos, end - pos));
      pos = end;
    }
    if (words.size() < n) return out;
    for (std::size_t i = 0; i + n <= words.size(); ++i) {
      out.push_back(XXH3_64bits(words.data() + i, n * sizeof(std::uint64_t)));
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

MinHasher::MinHasher(const MinHashConfig& config) : config_(config) {
  validate(config, "minhash");
  std::mt19937_64 rng(config.seed);
  a_.resize(config.num_perm);
  b_.resize(config.num_perm);
  for (int i = 0; i < config.num_perm; ++i) {
    a_[i] = rng() | 1;  // odd multipliers keep multiply-shift universal
    b_[i] = rng();
  }
}

std::vector<std::uint32_t> MinHasher::signature(std::string_view text) const {
  const std::size_t k = a_.size();
  std::vector<std::uint32_t> sig(k, std::numeric_limits<std::uint32_t>::max());
  const std::vector<std::uint64_t> shingles = shingle_hashes(text, config_.shingle, config_.ngram);
  const std::uint64_t* a = a_.data();
  const std::uint64_t* b = b_.data();
  std::uint32_t* s = sig.data();
  for (const std::uint64_t h : shingles) {
    // Written as a plain loop over slots so the compiler vectorises it.
    for (std::size_t i = 0; i < k; ++i) {
      const auto v = static_cast<std::uint32_t>((a[i] * h + b[i]) >> 32);
      s[i] = v < s[i] ? v : s[i];
    }
  }
  return sig;
}

std::vector<std::uint64_t> MinHasher::band_keys(const std::vector<std::uint32_t>& signature) const {
  const int rows = config_.rows();
  std::vector<std::uint64_t> keys(config_.bands);
  for (int band = 0; band < config_.bands; ++band) {
    keys[band] = XXH3_64bits_withSeed(signature.data() + band * rows, rows * sizeof(std::uint32_t),
                                      static_cast<std::uint64_t>(band));
  }
  return keys;
}

double estimate_similarity(const std::vector<std::uint32_t>& a,
                           const std::vector<std::uint32_t>& b) {
  if (a.empty() || a.size() != b.size()) return 0;
  std::size_t equal = 0;
  for (std::size_t i = 0; i < a.size(); ++i) equal += a[i] == b[i];
  return static_cast<double>(equal) / static_cast<double>(a.size());
}

}  // namespace enclave::data
