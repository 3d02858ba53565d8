// Sampling the next token from a logits vector, in the order Hugging Face
// generate applies its processors: repetition penalty (CTRL, Keskar et al.
// 2019: logit > 0 ? logit / p : logit * p for every token already in the
// prompt or output), temperature, top-k, top-p (nucleus, Holtzman et al.
// 2019: the smallest set whose probability reaches top_p), min-p (drop
// tokens below min_p * the top probability), then a draw from a private,
// seeded std::mt19937_64, so the same seed gives the same tokens on any
// machine or device. temperature == 0 is greedy (argmax after the penalty).
// Torch-free: logits arrive as a float span on the CPU.
// Thread safety: a Sampler holds RNG state; one per generation.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "text/tokenizer.h"

namespace enclave {

struct SamplingParams {
  double temperature = 1.0;         // 0 = greedy
  int top_k = 0;                    // 0 = off
  double top_p = 1.0;               // 1 = off
  double min_p = 0.0;               // 0 = off
  double repetition_penalty = 1.0;  // 1 = off
  std::uint64_t seed = 0;
};

// Throws Error(kInvalidInput) naming the parameter unless temperature >= 0
// and finite, 0 < top_p <= 1, top_k >= 0, 0 <= min_p <= 1 and
// repetition_penalty > 0 and finite.
void validate_sampling(const SamplingParams& params);

class Sampler {
 public:
  // Validates params (see validate_sampling).
  explicit Sampler(const SamplingParams& params);

  // Picks the next token. history: prompt + generated tokens (for the
  // repetition penalty). logits.size() is the vocabulary size; the result is
  // in [0, logits.size()).
  TokenId sample(std::span<const float> logits, std::span<const TokenId> history);

  // The processed distribution sample() draws from: probabilities over the
  // vocabulary (0 for filtered tokens), for tests and logprob reporting.
  std::vector<double> distribution(std::span<const float> logits,
                                   std::span<const TokenId> history) const;

 private:
  std::vector<double> penalized(std::span<const float> logits,
                                std::span<const TokenId> history) const;
  // Uniform double in [0, 1) from 53 random bits (portable, unlike
  // std::uniform_real_distribution whose algorithm varies by library).
  double uniform();

  SamplingParams params_;
  std::mt19937_64 rng_;
};

}  // namespace enclave
