#include "serve/logits_processor.h"

namespace enclave::serve {

void apply_penalties(std::span<float> logits, const TokenCounts& counts,
                     const PenaltyParams& params) {
  const auto in_range = [&](TokenId id) {
    return id >= 0 && static_cast<std::size_t>(id) < logits.size();
  };
  for (const auto& [id, bias] : params.logit_bias) {
    if (in_range(id)) logits[static_cast<std::size_t>(id)] += bias;
  }
  if (params.presence == 0 && params.frequency == 0) return;
  for (const auto& [id, count] : counts) {
    if (!in_range(id) || count <= 0) continue;
    logits[static_cast<std::size_t>(id)] -=
        static_cast<float>(count * params.frequency + params.presence);
  }
}

}  // namespace enclave::serve
