// Linear (weighted average) merging: Wortsman et al. 2022, "Model soups",
// arXiv:2203.05482; mergekit's `linear`.
#include <cmath>

#include "core/error.h"
#include "merge/methods.h"

namespace enclave::merge {

void linear_merge(const std::vector<std::span<const float>>& tensors,
                  const std::vector<double>& weights, bool normalize, std::span<float> out,
                  std::string_view tensor_name) {
  ENCLAVE_CHECK(!tensors.empty() && tensors.size() == weights.size());
  for (const auto& t : tensors) ENCLAVE_CHECK(t.size() == out.size());
  double total = 0.0;
  for (double w : weights) total += w;
  if (normalize && total == 0.0) {
    fail_input(
        "tensor '{}': the weights sum to zero, so they cannot be normalised (set normalize: false)",
        tensor_name);
  }
  const double divisor = normalize ? total : 1.0;
  for (std::size_t j = 0; j < out.size(); ++j) {
    double sum = 0.0;
    for (std::size_t i = 0; i < tensors.size(); ++i)
      sum += weights[i] * static_cast<double>(tensors[i][j]);
    out[j] = static_cast<float>(sum / divisor);
  }
}

}  // namespace enclave::merge
