#include "eval/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace enclave::eval {
namespace {

// Display width of UTF-8 text: code points (Korean task names stay aligned
// well enough; no East Asian width tables here).
std::size_t width(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

}  // namespace

nlohmann::json json_metric_value(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

std::string format_value(double value) {
  return std::isnan(value) ? "nan" : fmt::format("{:.4f}", value);
}

nlohmann::json task_result_json(const TaskResult& r) {
  nlohmann::json metrics = nlohmann::json::object();
  for (const MetricSamples& m : r.metrics) {
    metrics[m.name] = {{"value", json_metric_value(aggregate(m))},
                       {"stderr", json_metric_value(standard_error(m))},
                       {"higher_is_better", m.higher_is_better},
                       {"aggregation", to_string(m.aggregation)}};
  }
  nlohmann::json out = {{"task", r.task},
                        {"output_type", to_string(r.output_type)},
                        {"n_docs", r.n_docs},
                        {"n_available", r.n_available},
                        {"num_fewshot", r.num_fewshot},
                        {"chat_template", r.chat_template},
                        {"seconds", r.seconds},
                        {"metrics", metrics}};
  if (!r.data_sha256.empty()) out["data_sha256"] = r.data_sha256;
  return out;
}

nlohmann::json suite_result_json(const SuiteResult& r) {
  nlohmann::json tasks = nlohmann::json::array();
  for (std::size_t i = 0; i < r.tasks.size(); ++i) {
    nlohmann::json t = task_result_json(r.tasks[i]);
    t["weight"] = r.weights[i];
    tasks.push_back(std::move(t));
  }
  return {{"suite", r.suite},
          {"score", json_metric_value(r.score)},
          {"seconds", r.seconds},
          {"tasks", tasks}};
}

std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows) {
  // Columns of numbers are right-aligned, text columns left-aligned.
  std::vector<bool> numeric(header.size(), true);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size() && c < numeric.size(); ++c) {
      const std::string& v = row[c];
      const bool number =
          !v.empty() && (v == "-" || v == "nan" ||
                         v.find_first_not_of("+-0123456789.e[], x%") == std::string::npos);
      numeric[c] = numeric[c] && number;
    }
  }
  std::vector<std::size_t> widths(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t c = 0; c < row.size() && c < widths.size(); ++c)
      widths[c] = std::max(widths[c], width(row[c]));
  };
  measure(header);
  for (const auto& row : rows) measure(row);
  auto line = [&](const std::vector<std::string>& row) {
    std::string out;
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::string fill(widths[c] - std::min(widths[c], width(row[c])), ' ');
      if (c > 0) out += "  ";
      out += numeric[c] ? fill + row[c] : row[c] + fill;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(header);
  for (const auto& row : rows) out += line(row);
  return out;
}

std::string format_results_table(const SuiteResult& r) {
  std::vector<std::vector<std::string>> rows;
  for (const TaskResult& t : r.tasks) {
    for (const MetricSamples& m : t.metrics) {
      rows.push_back({t.task, m.name, format_value(aggregate(m)), format_value(standard_error(m))});
    }
  }
  std::string out = format_table({"task", "metric", "value", "stderr"}, rows);
  out += fmt::format("suite {}: score {} over {} tasks in {:.1f}s\n", r.suite,
                     format_value(r.score), r.tasks.size(), r.seconds);
  return out;
}

}  // namespace enclave::eval
