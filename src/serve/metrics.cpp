#include "serve/metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace enclave::serve {
namespace {

std::string bound_text(double b) { return fmt::format("{}", b); }

// The HELP and TYPE lines that open a metric family in the Prometheus text format.
void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  ++counts_[static_cast<std::size_t>(it - bounds_.begin())];
  sum_ += value;
  ++count_;
}

std::string Histogram::render(std::string_view name) const {
  std::string out;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bound_text(bounds_[i]), cumulative);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, count_);
  out += fmt::format("{}_sum {}\n{}_count {}\n", name, sum_, name, count_);
  return out;
}

Metrics::Metrics()
    : ttft_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      tpot_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}),
      duration_({0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}) {}

void Metrics::count_request(std::string_view endpoint, int status) {
  std::lock_guard lock(mutex_);
  ++requests_[{std::string(endpoint), status}];
}

void Metrics::add_tokens(std::int64_t prompt_tokens, std::int64_t completion_tokens) {
  std::lock_guard lock(mutex_);
  prompt_tokens_ += static_cast<std::uint64_t>(std::max<std::int64_t>(prompt_tokens, 0));
  completion_tokens_ += static_cast<std::uint64_t>(std::max<std::int64_t>(completion_tokens, 0));
}

void Metrics::count_finish(std::string_view reason) {
  std::lock_guard lock(mutex_);
  ++finishes_[std::string(reason)];
}

void Metrics::observe_time_to_first_token(double seconds) {
  std::lock_guard lock(mutex_);
  ttft_.observe(seconds);
}
void Metrics::observe_time_per_output_token(double seconds) {
  std::lock_guard lock(mutex_);
  tpot_.observe(seconds);
}
void Metrics::observe_request_duration(double seconds) {
  std::lock_guard lock(mutex_);
  duration_.observe(seconds);
}
void Metrics::set_queue_depth(int n) {
  std::lock_guard lock(mutex_);
  queue_depth_ = n;
}
void Metrics::set_active_sequences(int n) {
  std::lock_guard lock(mutex_);
  active_ = n;
}
void Metrics::count_prefix_cache(std::int64_t queried_tokens, std::int64_t hit_tokens) {
  std::lock_guard lock(mutex_);
  prefix_queried_tokens_ += static_cast<std::uint64_t>(queried_tokens);
  prefix_hit_tokens_ += static_cast<std::uint64_t>(hit_tokens);
  if (hit_tokens > 0) ++prefix_hits_;
}
void Metrics::set_kv_cache_blocks(std::int64_t used, std::int64_t total) {
  std::lock_guard lock(mutex_);
  kv_blocks_used_ = used;
  kv_blocks_total_ = total;
}
std::uint64_t Metrics::prefix_cache_hits() const {
  std::lock_guard lock(mutex_);
  return prefix_hits_;
}
void Metrics::count_reload(bool ok) {
  std::lock_guard lock(mutex_);
  ++(ok ? reloads_ok_ : reloads_failed_);
}

std::uint64_t Metrics::requests_to(std::string_view endpoint) const {
  std::lock_guard lock(mutex_);
  std::uint64_t n = 0;
  for (const auto& [key, count] : requests_) {
    if (key.first == endpoint) n += count;
  }
  return n;
}

int Metrics::queue_depth() const {
  std::lock_guard lock(mutex_);
  return queue_depth_;
}

int Metrics::active_sequences() const {
  std::lock_guard lock(mutex_);
  return active_;
}

std::uint64_t Metrics::requests_with_status(int status) const {
  std::lock_guard lock(mutex_);
  std::uint64_t n = 0;
  for (const auto& [key, count] : requests_) {
    if (key.second == status) n += count;
  }
  return n;
}

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  family(out, "enclave_requests_total", "counter", "HTTP requests by endpoint and status code.");
  for (const auto& [key, count] : requests_) {
    out += fmt::format("enclave_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first,
                       key.second, count);
  }
  family(out, "enclave_prompt_tokens_total", "counter", "Prompt tokens processed.");
  out += fmt::format("enclave_prompt_tokens_total {}\n", prompt_tokens_);
  family(out, "enclave_completion_tokens_total", "counter", "Tokens generated.");
  out += fmt::format("enclave_completion_tokens_total {}\n", completion_tokens_);
  family(out, "enclave_finished_total", "counter", "Generations by finish reason.");
  for (const auto& [reason, count] : finishes_) {
    out += fmt::format("enclave_finished_total{{reason=\"{}\"}} {}\n", reason, count);
  }
  family(out, "enclave_time_to_first_token_seconds", "histogram",
         "From arrival to the first generated token.");
  out += ttft_.render("enclave_time_to_first_token_seconds");
  family(out, "enclave_time_per_output_token_seconds", "histogram",
         "Time between consecutive tokens of a sequence.");
  out += tpot_.render("enclave_time_per_output_token_seconds");
  family(out, "enclave_request_duration_seconds", "histogram",
         "Generation requests from arrival to the last byte.");
  out += duration_.render("enclave_request_duration_seconds");
  family(out, "enclave_queue_depth", "gauge", "Requests waiting for a batch slot.");
  out += fmt::format("enclave_queue_depth {}\n", queue_depth_);
  family(out, "enclave_active_sequences", "gauge", "Sequences in the running batch.");
  out += fmt::format("enclave_active_sequences {}\n", active_);
  family(out, "enclave_kv_cache_blocks_used", "gauge",
         "KV cache pool blocks held by running sequences.");
  out += fmt::format("enclave_kv_cache_blocks_used {}\n", kv_blocks_used_);
  family(out, "enclave_kv_cache_blocks", "gauge", "KV cache pool blocks of the running models.");
  out += fmt::format("enclave_kv_cache_blocks {}\n", kv_blocks_total_);
  family(out, "enclave_prefix_cache_queries_total", "counter",
         "Prompt tokens looked up in the prefix cache.");
  out += fmt::format("enclave_prefix_cache_queries_total {}\n", prefix_queried_tokens_);
  family(out, "enclave_prefix_cache_hit_tokens_total", "counter",
         "Prompt tokens found in the prefix cache (not computed again).");
  out += fmt::format("enclave_prefix_cache_hit_tokens_total {}\n", prefix_hit_tokens_);
  family(out, "enclave_prefix_cache_hits_total", "counter",
         "Requests that reused at least one cached prefix block.");
  out += fmt::format("enclave_prefix_cache_hits_total {}\n", prefix_hits_);
  family(out, "enclave_model_reloads_total", "counter", "Hot reloads by result.");
  out += fmt::format("enclave_model_reloads_total{{result=\"ok\"}} {}\n", reloads_ok_);
  out += fmt::format("enclave_model_reloads_total{{result=\"failed\"}} {}\n", reloads_failed_);
  return out;
}

}  // namespace enclave::serve
