// A small seeded random source (SplitMix64) for everything in evaluation that
// must repeat exactly: few-shot selection, bootstrap resamples and the
// generated task sets. std:: distributions differ between standard libraries,
// so the same seed would give other samples on another build; this does not.
// Thread safety: one Rng per thread.
#pragma once

#include <cstdint>

namespace enclave::eval {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // Uniform in [0, n) without modulo bias; n must be > 0.
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
    std::uint64_t x = next();
    while (x >= limit) x = next();
    return x % n;
  }

  // Uniform in [lo, hi].
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
  }

 private:
  std::uint64_t state_;
};

// A seed derived from a base seed and a stream number (per document, per
// task), so streams do not overlap.
inline std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t stream) {
  Rng rng(seed ^ (stream * 0xD6E8FEB86659FD93ull));
  return rng.next();
}

}  // namespace enclave::eval
