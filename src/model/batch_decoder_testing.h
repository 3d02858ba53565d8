// Helpers of the batch decoder's tests: logits compared, greedy decoding
// of several slots together.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "model/batch_decoder.h"

namespace enclave {

inline double max_diff(const std::vector<float>& a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    m = std::max(m, std::abs(double(a[i]) - b[i]));
  return m;
}

// Greedy tokens of every slot, decoded together from their last logits.
inline std::vector<std::vector<TokenId>> greedy_steps(BatchDecoder& decoder, std::vector<int> slots,
                                                      std::vector<std::vector<float>> logits,
                                                      int n) {
  std::vector<std::vector<TokenId>> out(slots.size());
  for (int i = 0; i < n; ++i) {
    std::vector<BatchDecoder::StepInput> inputs;
    for (std::size_t r = 0; r < slots.size(); ++r) {
      const auto best = std::max_element(logits[r].begin(), logits[r].end()) - logits[r].begin();
      out[r].push_back(static_cast<TokenId>(best));
      inputs.push_back({slots[r], static_cast<TokenId>(best)});
    }
    std::vector<float> all = decoder.step(inputs);
    const std::size_t V = all.size() / slots.size();
    for (std::size_t r = 0; r < slots.size(); ++r)
      logits[r].assign(all.begin() + r * V, all.begin() + (r + 1) * V);
  }
  return out;
}

}  // namespace enclave
