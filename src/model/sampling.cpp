#include "model/sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace enclave {

void validate_sampling(const SamplingParams& p) {
  if (!std::isfinite(p.temperature) || p.temperature < 0) {
    fail_input("sampling: temperature must be a finite number >= 0, got {}", p.temperature);
  }
  if (!(p.top_p > 0 && p.top_p <= 1))
    fail_input("sampling: top_p must be in (0, 1], got {}", p.top_p);
  if (p.top_k < 0) fail_input("sampling: top_k must be >= 0, got {}", p.top_k);
  if (!(p.min_p >= 0 && p.min_p <= 1))
    fail_input("sampling: min_p must be in [0, 1], got {}", p.min_p);
  if (!std::isfinite(p.repetition_penalty) || p.repetition_penalty <= 0) {
    fail_input("sampling: repetition_penalty must be a finite number > 0, got {}",
               p.repetition_penalty);
  }
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {
  validate_sampling(params);
}

std::vector<double> Sampler::penalized(std::span<const float> logits,
                                       std::span<const TokenId> history) const {
  ENCLAVE_CHECK(!logits.empty());
  std::vector<double> out(logits.begin(), logits.end());
  if (params_.repetition_penalty != 1.0) {
    std::vector<bool> seen(out.size(), false);
    for (TokenId id : history) {
      if (id < 0 || static_cast<std::size_t>(id) >= out.size() || seen[id]) continue;
      seen[id] = true;
      out[id] =
          out[id] > 0 ? out[id] / params_.repetition_penalty : out[id] * params_.repetition_penalty;
    }
  }
  return out;
}

std::vector<double> Sampler::distribution(std::span<const float> logits,
                                          std::span<const TokenId> history) const {
  std::vector<double> scores = penalized(logits, history);
  const std::size_t n = scores.size();
  std::vector<double> probs(n, 0.0);
  if (params_.temperature == 0) {
    probs[std::max_element(scores.begin(), scores.end()) - scores.begin()] = 1.0;
    return probs;
  }
  for (double& s : scores) s /= params_.temperature;

  // Candidate ids; sorted best first (ties: lower id first) only when top-k
  // or top-p needs the order, since a full sort per token is costly.
  auto better = [&](TokenId a, TokenId b) {
    return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
  };
  std::vector<TokenId> cand(n);
  std::iota(cand.begin(), cand.end(), 0);
  if (params_.top_k > 0 && static_cast<std::size_t>(params_.top_k) < n) {
    std::partial_sort(cand.begin(), cand.begin() + params_.top_k, cand.end(), better);
    cand.resize(params_.top_k);
  } else if (params_.top_p < 1.0) {
    std::sort(cand.begin(), cand.end(), better);
  }

  // Softmax over the candidates (max-subtracted for stability).
  auto softmax = [&](const std::vector<TokenId>& ids) {
    double max = -std::numeric_limits<double>::infinity();
    for (TokenId id : ids) max = std::max(max, scores[id]);
    std::vector<double> p(ids.size());
    double sum = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) sum += p[i] = std::exp(scores[ids[i]] - max);
    for (double& v : p) v /= sum;
    return p;
  };
  std::vector<double> p = softmax(cand);
  if (params_.top_p < 1.0) {
    // Keep the smallest prefix whose probability reaches top_p (at least one).
    double cumulative = 0;
    std::size_t count = 0;
    while (count < cand.size() && (count == 0 || cumulative < params_.top_p))
      cumulative += p[count++];
    cand.resize(count);
    p = softmax(cand);
  }
  if (params_.min_p > 0) {
    const double threshold = params_.min_p * *std::max_element(p.begin(), p.end());
    std::vector<TokenId> kept;
    for (std::size_t i = 0; i < cand.size(); ++i) {
      if (p[i] >= threshold) kept.push_back(cand[i]);
    }
    cand = std::move(kept);  // never empty: the top token passes its own threshold
    p = softmax(cand);
  }
  for (std::size_t i = 0; i < cand.size(); ++i) probs[cand[i]] = p[i];
  return probs;
}

double Sampler::uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

TokenId Sampler::sample(std::span<const float> logits, std::span<const TokenId> history) {
  if (params_.temperature == 0) {
    std::vector<double> scores = penalized(logits, history);
    return static_cast<TokenId>(std::max_element(scores.begin(), scores.end()) - scores.begin());
  }
  std::vector<double> probs = distribution(logits, history);
  const double u = uniform();
  double cumulative = 0;
  TokenId last = 0;
  for (std::size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] == 0) continue;
    cumulative += probs[i];
    last = static_cast<TokenId>(i);
    if (u < cumulative) return last;
  }
  return last;  // u landed in the rounding gap at the end
}

}  // namespace enclave
