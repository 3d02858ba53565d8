// Report: what the served models did over a period, window by window, from
// the request log and its feedback, with drift of the prompts against the
// model's training data (drift.h). Every figure has a stable metric name
// (src/monitor/README.md lists them) and is recorded on a store run of kind
// "monitor", one point per window (step = window index, time = window end),
// so `enclave runs show`, alerts (alerts.h) and pipeline triggers read the
// same numbers the report prints.
// Definitions (all over the requests created inside the window):
//   serve.requests          count of requests
//   serve.error_rate        share with HTTP status >= 400 (errors by status kept apart)
//   serve.latency_p50/95/99 latency of the answered requests (status < 400), seconds,
//                           percentiles by linear interpolation between ranks
//   serve.ttft_p50          time to first token of the answered requests, seconds
//   serve.tokens_per_second completion tokens / latency, summed over answered requests
//   serve.empty_rate        share of answered requests with a blank completion
//   serve.refused_rate      share of answered requests whose completion opens as a
//                           refusal ("I'm sorry", "I cannot", "As an AI", ...)
//   feedback.rate           share of requests with any feedback
//   feedback.mean_rating    mean of each rated request's latest rating
//   feedback.negative_rate  share of rated requests whose latest rating is < 0
//   drift.length_psi, drift.unigram_psi, drift.unigram_js  (drift.h)
// A figure with nothing to measure (no answered request, no rating) is left out.
// Thread safety: free functions; each call opens its own connections.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "monitor/drift.h"
#include "monitor/request_log.h"

namespace enclave::monitor {

// The metric names, in report order.
const std::vector<std::string>& metric_names();

// Linear interpolation between closest ranks (numpy's default); values need
// not be sorted. nullopt for no values. p in [0, 1].
std::optional<double> percentile(std::vector<double> values, double p);

// Whether a completion opens as a refusal (case-insensitive, after leading
// blanks).
bool is_refusal(std::string_view completion);

// The latest rating of a request and whether it has any feedback.
struct RequestFeedback {
  bool any = false;
  std::optional<double> rating;
};

struct WindowFigures {
  double start = 0;
  double end = 0;
  std::int64_t requests = 0;
  std::map<int, std::int64_t> errors_by_status;
  std::map<std::string, double> metrics;  // metric name -> value, see above
};

// The figures of the records inside [start, end). feedback is keyed by
// request id; reference may be null (no drift figures).
WindowFigures measure_window(const std::vector<RequestRecord>& records,
                             const std::map<std::string, RequestFeedback>& feedback, double start,
                             double end, const TextProfile* reference);

struct ReportOptions {
  double since_seconds = 86400;  // the period ends at now
  double window_seconds = 0;     // 0: one window over the whole period
  std::string model;             // name or name@N; "" = every model
  std::optional<double> now;     // default: the clock
  bool record = true;            // record a "monitor" run with the figures
};

struct Report {
  double start = 0;
  double end = 0;
  std::string model;
  std::string drift_model;  // the model version drift was measured against
  std::vector<std::string> drift_sources;
  std::string drift_unit;  // "tokens" (the model's tokenizer) or "words"; "" without drift
  std::string drift_note;  // why there is no drift, when there is none
  std::vector<WindowFigures> windows;
  std::optional<std::int64_t> run_id;
};

// Reads the request log of the workspace (Error(kNotFound) without one) and
// measures each window. Drift uses the training data of --model when it
// names a registered model, else of the one registered version every request
// was served by. Throws Error(kInvalidInput) for a period or window <= 0 or
// more than 10000 windows.
Report monitor_report(const std::filesystem::path& workspace_root, const ReportOptions& options);

// The figures of the last window_seconds (one window), as alerts and
// triggers see them; nothing is recorded.
std::map<std::string, double> current_metrics(const std::filesystem::path& workspace_root,
                                              double window_seconds, const std::string& model,
                                              std::optional<double> now = std::nullopt);

nlohmann::json report_json(const Report& report);
std::string format_report(const Report& report);

}  // namespace enclave::monitor
