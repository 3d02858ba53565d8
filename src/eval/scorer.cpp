#include "eval/scorer.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "core/error.h"

namespace enclave::eval {
namespace {

LoglikelihoodResult sum_continuation(const LoglikelihoodRequest& r,
                                     const std::vector<double>& logprobs,
                                     const std::vector<std::uint8_t>* greedy) {
  LoglikelihoodResult out;
  out.n_tokens = r.n_continuation;
  out.greedy = greedy != nullptr;
  const std::size_t first =
      r.tokens.size() - r.n_continuation - 1;  // logprobs[j] scores tokens[j + 1]
  for (std::size_t j = first; j < logprobs.size(); ++j) {
    out.logprob += logprobs[j];
    if (greedy != nullptr && (*greedy)[j] == 0) out.greedy = false;
  }
  return out;
}

}  // namespace

std::vector<LoglikelihoodResult> score_requests(const Engine& engine,
                                                const std::vector<LoglikelihoodRequest>& requests,
                                                const ScoreOptions& options) {
  if (options.batch_size < 1) fail_input("batch size must be >= 1, got {}", options.batch_size);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const LoglikelihoodRequest& r = requests[i];
    if (r.n_continuation == 0 || r.n_continuation >= r.tokens.size()) {
      fail_input(
          "request {}: needs at least one context token and one continuation token ({} tokens, {} "
          "scored)",
          i, r.tokens.size(), r.n_continuation);
    }
  }
  std::vector<LoglikelihoodResult> out(requests.size());
  if (options.batch_size == 1 && !options.need_greedy) {
    for (std::size_t i = 0; i < requests.size(); ++i) {
      out[i] = sum_continuation(requests[i], engine.score(requests[i].tokens), nullptr);
      if (options.progress != nullptr) options.progress->advance();
    }
    return out;
  }
  std::vector<std::size_t> order;
  if (options.share_prefix) {
    // Requests grouped by their context tokens, in first-seen order.
    std::map<std::vector<TokenId>, std::vector<std::size_t>> groups;
    std::vector<const std::vector<TokenId>*> keys;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const auto& t = requests[i].tokens;
      auto [it, inserted] =
          groups.try_emplace(std::vector<TokenId>(t.begin(), t.end() - requests[i].n_continuation));
      if (inserted) keys.push_back(&it->first);
      it->second.push_back(i);
    }
    for (const std::vector<TokenId>* context : keys) {
      const std::vector<std::size_t>& members = groups[*context];
      if (members.size() < 2) {
        order.push_back(members[0]);
        continue;
      }
      std::vector<std::vector<TokenId>> continuations;
      for (std::size_t i : members) {
        const auto& t = requests[i].tokens;
        continuations.emplace_back(t.end() - requests[i].n_continuation, t.end());
      }
      std::vector<Engine::SequenceScores> scores =
          engine.score_continuations(*context, continuations);
      for (std::size_t k = 0; k < members.size(); ++k) {
        LoglikelihoodResult& r = out[members[k]];
        r.n_tokens = continuations[k].size();
        r.greedy = options.need_greedy;
        for (std::size_t j = 0; j < scores[k].logprobs.size(); ++j) {
          r.logprob += scores[k].logprobs[j];
          if (scores[k].greedy[j] == 0) r.greedy = false;
        }
      }
      if (options.progress != nullptr) options.progress->advance(members.size());
    }
  } else {
    order.resize(requests.size());
    std::iota(order.begin(), order.end(), 0);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return requests[a].tokens.size() > requests[b].tokens.size();
  });
  std::size_t pos = 0;
  while (pos < order.size()) {
    // Longest first, so the first request of a batch sets its padded length.
    const auto longest = static_cast<std::int64_t>(requests[order[pos]].tokens.size());
    const std::int64_t by_tokens = std::max<std::int64_t>(1, options.max_batch_tokens / longest);
    const std::size_t n =
        std::min<std::size_t>({static_cast<std::size_t>(options.batch_size),
                               static_cast<std::size_t>(by_tokens), order.size() - pos});
    std::vector<std::vector<TokenId>> batch;
    batch.reserve(n);
    for (std::size_t k = 0; k < n; ++k) batch.push_back(requests[order[pos + k]].tokens);
    std::vector<Engine::SequenceScores> scores = engine.score_batch(batch);
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = order[pos + k];
      out[i] = sum_continuation(requests[i], scores[k].logprobs,
                                options.need_greedy ? &scores[k].greedy : nullptr);
    }
    if (options.progress != nullptr) options.progress->advance(n);
    pos += n;
  }
  return out;
}

std::vector<LoglikelihoodRequest> rolling_windows(const std::vector<TokenId>& tokens,
                                                  std::int64_t max_len) {
  std::vector<LoglikelihoodRequest> out;
  if (tokens.size() < 2) return out;
  const auto step = static_cast<std::size_t>(std::max<std::int64_t>(1, max_len - 1));
  for (std::size_t start = 1; start < tokens.size(); start += step) {
    const std::size_t end = std::min(tokens.size(), start + step);
    LoglikelihoodRequest r;
    r.tokens.assign(tokens.begin() + static_cast<std::ptrdiff_t>(start - 1),
                    tokens.begin() + static_cast<std::ptrdiff_t>(end));
    r.n_continuation = end - start;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace enclave::eval
