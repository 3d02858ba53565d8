// Sparsifying task vectors (delta = model - base) before they are merged.
//
// TIES (Yadav et al. 2023, "TIES-Merging", arXiv:2306.01708) trims each
// task vector to its `density` fraction of largest magnitudes: k =
// floor(density * n) entries are kept (as mergekit's `magnitude` does), the
// rest set to zero. The k-th largest magnitude is found with
// std::nth_element; entries equal to it are kept lowest index first, so the
// result is exactly k entries and does not depend on the sort's internals.
//
// DARE (Yu et al. 2023, "Language Models are Super Mario", arXiv:2311.03099)
// drops each entry independently with probability 1 - density and rescales
// the survivors by 1 / density, which keeps the expected delta unchanged.
// The draws come from std::mt19937_64 (its output sequence is fixed by the
// C++ standard, so a seed gives the same mask on every platform) seeded per
// tensor and per model from the merge seed, so results do not depend on the
// order tensors are processed in: u = (next() >> 11) * 2^-53 is uniform in
// [0, 1), and an entry survives when u < density.
// Torch-free. Thread safety: stateless functions.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace enclave::merge {

// Keeps the floor(density * n) largest-magnitude entries, zeroes the rest.
// density >= 1 keeps everything; density must be in [0, 1].
void trim_by_magnitude(std::span<float> delta, double density);

// Zeroes each entry with probability 1 - density using mt19937_64(seed);
// survivors are divided by density when rescale is set. density >= 1 keeps
// everything; density 0 zeroes everything.
void drop_random(std::span<float> delta, double density, std::uint64_t seed, bool rescale);

// The seed of one tensor of one input model: a splitmix64 mix of the merge
// seed, the FNV-1a hash of the output tensor name and the model's index.
std::uint64_t tensor_seed(std::uint64_t merge_seed, std::string_view tensor_name,
                          std::uint64_t model_index);

// One uniform draw in [0, 1) from a raw 64-bit generator output, as used above.
inline double unit_interval(std::uint64_t bits) {
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

}  // namespace enclave::merge
