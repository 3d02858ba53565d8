// What the OpenAI API asks of the logits before sampling, beyond Sampler's
// temperature and top-p: presence and frequency penalties and logit_bias
// (OpenAI API reference, "Create chat completion"; the penalty formula is
// the one OpenAI's "Frequency and presence penalties" guide gives:
//   logit[j] -= c[j] * frequency_penalty + (c[j] > 0) * presence_penalty
// with c[j] the times token j was generated so far in this completion; the
// prompt does not count), and a TokenConstraint that masks the tokens a
// grammar forbids (serve/token_grammar.h).
// Thread safety: plain values and pure functions; a TokenCounts or a
// TokenConstraint belongs to one sequence.
#pragma once

#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "text/tokenizer.h"

namespace enclave::serve {

struct PenaltyParams {
  double presence = 0;   // [-2, 2]
  double frequency = 0;  // [-2, 2]
  // (token id, bias in [-100, 100]) added to the token's logit.
  std::vector<std::pair<TokenId, float>> logit_bias;
  bool active() const { return presence != 0 || frequency != 0 || !logit_bias.empty(); }
};

// How often each token was generated so far in one completion.
using TokenCounts = std::unordered_map<TokenId, int>;

// Applies logit_bias and the penalties to logits in place. Ids outside
// logits are skipped (the request was checked against the vocabulary).
void apply_penalties(std::span<float> logits, const TokenCounts& counts,
                     const PenaltyParams& params);

// Decoding limited to what a grammar allows. The scheduler calls mask()
// before each sampling step and accept() with the token drawn.
class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  // Sets the logits of forbidden tokens to -infinity. Throws
  // Error(kInvalidInput) when no token at all is allowed.
  virtual void mask(std::span<float> logits) = 0;
  // Advances past a token that mask() allowed.
  virtual void accept(TokenId token) = 0;
};

}  // namespace enclave::serve
