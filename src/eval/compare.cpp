#include "eval/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "eval/report.h"

namespace enclave::eval {

Comparison compare_results(const SuiteResult& a, const SuiteResult& b,
                           const BootstrapOptions& options) {
  if (a.tasks.size() != b.tasks.size()) {
    fail_input("compare: suite results have {} and {} tasks", a.tasks.size(), b.tasks.size());
  }
  Comparison out;
  out.suite = a.suite;
  out.bootstrap = options;
  for (std::size_t t = 0; t < a.tasks.size(); ++t) {
    const TaskResult& ta = a.tasks[t];
    const TaskResult& tb = b.tasks[t];
    if (ta.task != tb.task || ta.n_docs != tb.n_docs || ta.metrics.size() != tb.metrics.size()) {
      fail_input("compare: task '{}' ({} documents) does not match task '{}' ({} documents)",
                 ta.task, ta.n_docs, tb.task, tb.n_docs);
    }
    for (std::size_t m = 0; m < ta.metrics.size(); ++m) {
      CompareRow row;
      row.task = ta.task;
      row.metric = ta.metrics[m].name;
      row.higher_is_better = ta.metrics[m].higher_is_better;
      row.primary = m == 0;
      // Each (task, metric) gets its own resample stream, so adding a task
      // does not change the intervals of the others.
      BootstrapOptions o = options;
      o.seed = options.seed + 7919 * t + m;
      row.interval = paired_bootstrap(ta.metrics[m], tb.metrics[m], o);
      row.verdict = verdict_of(row.interval, row.higher_is_better);
      out.rows.push_back(std::move(row));
    }
  }
  return out;
}

nlohmann::json comparison_json(const Comparison& c) {
  nlohmann::json rows = nlohmann::json::array();
  for (const CompareRow& r : c.rows) {
    rows.push_back({{"task", r.task},
                    {"metric", r.metric},
                    {"primary", r.primary},
                    {"higher_is_better", r.higher_is_better},
                    {"a", json_metric_value(r.interval.a)},
                    {"b", json_metric_value(r.interval.b)},
                    {"delta", json_metric_value(r.interval.delta)},
                    {"ci_low", json_metric_value(r.interval.low)},
                    {"ci_high", json_metric_value(r.interval.high)},
                    {"verdict", to_string(r.verdict)}});
  }
  return {{"suite", c.suite},
          {"model_a", c.model_a},
          {"model_b", c.model_b},
          {"confidence", c.bootstrap.confidence},
          {"n_resamples", c.bootstrap.n_resamples},
          {"seed", c.bootstrap.seed},
          {"rows", rows}};
}

std::string format_comparison(const Comparison& c) {
  std::vector<std::vector<std::string>> rows;
  int better = 0;
  int worse = 0;
  for (const CompareRow& r : c.rows) {
    rows.push_back({r.task, r.metric, format_value(r.interval.a), format_value(r.interval.b),
                    fmt::format("{:+.4f}", r.interval.delta),
                    fmt::format("[{:+.4f}, {:+.4f}]", r.interval.low, r.interval.high),
                    std::string(to_string(r.verdict))});
    if (r.primary) {
      better += r.verdict == Verdict::kBetter;
      worse += r.verdict == Verdict::kWorse;
    }
  }
  std::string out =
      format_table({"task", "metric", "A", "B", "delta",
                    fmt::format("{:.0f}% CI", c.bootstrap.confidence * 100), "verdict"},
                   rows);
  out += fmt::format(
      "A = {}, B = {}; on the primary metric B is better on {} and worse on {} of {} tasks\n",
      c.model_a, c.model_b, better, worse,
      std::count_if(c.rows.begin(), c.rows.end(), [](const CompareRow& r) { return r.primary; }));
  return out;
}

}  // namespace enclave::eval
