// What `enclave eval run` prints and records: an aligned table (task, metric,
// value, stderr) and the same results as JSON:
//   {"suite": ..., "score": ..., "seconds": ...,
//    "tasks": [{"task", "output_type", "n_docs", "n_available", "num_fewshot",
//               "chat_template", "seconds", "data_sha256",
//               "metrics": {"acc": {"value", "stderr", "higher_is_better"}}}]}
// Thread safety: stateless; safe from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "eval/suite.h"

namespace enclave::eval {

nlohmann::json task_result_json(const TaskResult& result);
nlohmann::json suite_result_json(const SuiteResult& result);
std::string format_results_table(const SuiteResult& result);

// Aligned columns (numbers right, text left); used by the run, compare,
// gate and task tables.
std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

// A metric value for JSON: the number, or null when it is NaN or infinite
// (JSON has no NaN).
nlohmann::json json_metric_value(double value);

// A metric value for tables: 4 decimals, "nan" for NaN.
std::string format_value(double value);

}  // namespace enclave::eval
