// Metrics: the server's Prometheus series, rendered as text exposition
// format 0.0.4 on GET /metrics: requests by endpoint and status, prompt and
// completion tokens, finish reasons, histograms of time to first token,
// time per output token and request duration, gauges of queue depth,
// active sequences and KV cache blocks in use, and prefix cache hits.
// Thread safety: every method may be called from any thread (one mutex).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace enclave::serve {

// A cumulative histogram with fixed upper bounds (le), as Prometheus wants.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // Lines "<name>_bucket{le=...} n", "<name>_sum", "<name>_count".
  std::string render(std::string_view name) const;
  std::uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // per bound, not cumulative; last: +Inf
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();

  void count_request(std::string_view endpoint, int status);
  void add_tokens(std::int64_t prompt_tokens, std::int64_t completion_tokens);
  void count_finish(std::string_view reason);
  void observe_time_to_first_token(double seconds);
  void observe_time_per_output_token(double seconds);
  void observe_request_duration(double seconds);
  void set_queue_depth(int n);
  void set_active_sequences(int n);
  // A request admitted with n prompt tokens, hit_tokens of them cached.
  void count_prefix_cache(std::int64_t queried_tokens, std::int64_t hit_tokens);
  void set_kv_cache_blocks(std::int64_t used, std::int64_t total);
  void count_reload(bool ok);

  // The whole exposition text (HELP and TYPE lines included).
  std::string render() const;
  // For tests and the bench: requests counted with this status.
  std::uint64_t requests_with_status(int status) const;
  // Requests that reused cached prefix blocks.
  std::uint64_t prefix_cache_hits() const;
  // Requests to one endpoint label ("chat.completions"), any status.
  std::uint64_t requests_to(std::string_view endpoint) const;
  int queue_depth() const;
  int active_sequences() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::map<std::string, std::uint64_t> finishes_;
  std::uint64_t prompt_tokens_ = 0;
  std::uint64_t completion_tokens_ = 0;
  std::uint64_t reloads_ok_ = 0;
  std::uint64_t reloads_failed_ = 0;
  Histogram ttft_;
  Histogram tpot_;
  Histogram duration_;
  int queue_depth_ = 0;
  int active_ = 0;
  std::uint64_t prefix_queried_tokens_ = 0;
  std::uint64_t prefix_hit_tokens_ = 0;
  std::uint64_t prefix_hits_ = 0;
  std::int64_t kv_blocks_used_ = 0;
  std::int64_t kv_blocks_total_ = 0;
};

}  // namespace enclave::serve
