// Alerts: rules over the monitoring figures (report.h) that raise and clear
// events in the store, for people (`enclave monitor alerts`) and for
// pipeline triggers (`on: monitor: {metric, window, above}`), which evaluate
// through the same functions.
//
// alerts.yaml (strict YAML, core/yaml.h):
//   alerts:
//     - name: negative-feedback          # unique; names the rule's events
//       metric: feedback.negative_rate   # one of metric_names()
//       window: 24h                      # 90s, 30m, 12h, 7d: the figures of the last window
//       above: 0.2                       # or below: X, or threshold: X + direction: above|below
//       model: tiny                      # optional: only this model name or version
// A rule is breached when the metric is strictly above (below) the
// threshold. Evaluating it records an event when its state changes: "raised"
// when it becomes breached, "cleared" when it stops being so (table
// alert_events, store schema migration 4). A window with nothing to measure
// (no requests, no ratings) changes nothing.
// Thread safety: free functions; each call opens its own connections, and the
// state check and event are one write transaction.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace enclave::monitor {

// "90s", "30m", "12h", "7d" or plain seconds -> seconds. Throws
// Error(kInvalidInput) naming what.
double parse_duration(std::string_view text, std::string_view what);

struct AlertRule {
  std::string name;
  std::string metric;
  std::string window;  // as written
  double window_seconds = 0;
  double threshold = 0;
  bool above = true;
  std::string model;  // "" = every model
};

// Called with the field ("metric", "window", ... or "" for the rule itself)
// and the reason; must throw.
using RuleError = std::function<void(const std::string& field, const std::string& reason)>;

// One rule from a mapping {name?, metric, window, above | below | threshold +
// direction, model?}. Unknown keys, a metric not in metric_names() (the error
// lists them), a bad window or a missing or doubled threshold go to fail.
AlertRule parse_alert_rule(const nlohmann::json& value, const RuleError& fail);

// Reads alerts.yaml. Errors name the file, the field (alerts[2].window) and
// its line: Error(kInvalidInput); a missing file Error(kNotFound).
std::vector<AlertRule> load_alert_rules(const std::filesystem::path& file);

struct AlertResult {
  AlertRule rule;
  std::optional<double> value;  // none: nothing to measure in the window
  bool firing = false;          // the state after this evaluation
  std::string event;            // "raised", "cleared" or "" (no change)
};

// Measures the rule's window ending at now and records a state change.
// Throws Error(kNotFound) without a request log.
AlertResult evaluate_alert(const std::filesystem::path& workspace_root, const AlertRule& rule,
                           std::optional<double> now = std::nullopt);

struct AlertEvent {
  std::int64_t id = 0;
  std::string rule;
  std::string event;
  std::optional<double> value;
  double threshold = 0;
  bool above = true;
  double at = 0;
};
// The events of a rule ("" = all), oldest first.
std::vector<AlertEvent> alert_events(const std::filesystem::path& workspace_root,
                                     const std::string& rule = "");

nlohmann::json alerts_json(const std::vector<AlertResult>& results);
std::string format_alerts(const std::vector<AlertResult>& results);

}  // namespace enclave::monitor
