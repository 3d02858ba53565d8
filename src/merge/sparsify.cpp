#include "merge/sparsify.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"

namespace enclave::merge {

void trim_by_magnitude(std::span<float> delta, double density) {
  ENCLAVE_CHECK(density >= 0.0);
  if (density >= 1.0 || delta.empty()) return;
  const std::size_t n = delta.size();
  const auto k = static_cast<std::size_t>(std::floor(density * static_cast<double>(n)));
  if (k == 0) {
    std::fill(delta.begin(), delta.end(), 0.0f);
    return;
  }
  std::vector<float> magnitudes(n);
  for (std::size_t i = 0; i < n; ++i) magnitudes[i] = std::fabs(delta[i]);
  // The k-th largest magnitude is the threshold.
  std::nth_element(magnitudes.begin(), magnitudes.begin() + static_cast<std::ptrdiff_t>(k - 1),
                   magnitudes.end(), std::greater<float>());
  const float threshold = magnitudes[k - 1];
  std::size_t above = 0;
  for (float v : delta) above += std::fabs(v) > threshold ? 1 : 0;
  std::size_t ties_left = k - above;  // entries equal to the threshold still to keep
  for (float& v : delta) {
    const float m = std::fabs(v);
    if (m > threshold) continue;
    if (m == threshold && ties_left > 0) {
      --ties_left;
      continue;
    }
    v = 0.0f;
  }
}

void drop_random(std::span<float> delta, double density, std::uint64_t seed, bool rescale) {
  ENCLAVE_CHECK(density >= 0.0);
  if (density >= 1.0) return;
  std::mt19937_64 rng(seed);
  const bool divide = rescale && density > 0.0;
  for (float& v : delta) {
    const bool keep = unit_interval(rng()) < density;
    if (!keep) {
      v = 0.0f;
    } else if (divide) {
      v = static_cast<float>(static_cast<double>(v) / density);
    }
  }
}

std::uint64_t tensor_seed(std::uint64_t merge_seed, std::string_view tensor_name,
                          std::uint64_t model_index) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a offset basis
  for (unsigned char c : tensor_name) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  auto splitmix = [](std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  return splitmix(splitmix(splitmix(merge_seed) ^ h) ^ model_index);
}

}  // namespace enclave::merge
