// Suites: a list of tasks with weights, run together against one model.
//
//   suite: release
//   tasks:
//     - general.sequence_en            # a built-in task (builtin_tasks.h)
//     - task: domain/qa.yaml           # a task file, relative to this file
//       weight: 2
//       name: domain                   # rename (results and gate rules use it)
//       limit: 100                     # overrides of the task's own settings
//       num_fewshot: 3
//
// `--suite` takes a suite file, a single task file, a built-in suite name
// ("skills", "general") or a built-in task name. The suite score is the
// weighted mean of the primary (first) metric of each task whose primary
// metric is a higher-is-better rate in [0, 1].
// Thread safety: stateless functions; values are plain.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/harness.h"
#include "eval/task_spec.h"

namespace enclave::eval {

struct SuiteEntry {
  TaskSpec task;
  double weight = 1.0;
};

struct Suite {
  std::string name;
  std::string source;  // file path, or "builtin"
  std::vector<SuiteEntry> entries;
};

// Throws Error(kNotFound) when spec is neither a file nor a built-in name
// (listing the built-in suites), Error(kInvalidInput) for malformed suite
// files (unknown keys, weights <= 0, duplicate task names) naming the file.
Suite load_suite(const std::string& spec);
// Parses a suite from its YAML value; base_dir resolves task paths.
Suite parse_suite(const nlohmann::json& value, const std::filesystem::path& base_dir,
                  std::string_view what);

struct SuiteResult {
  std::string suite;
  std::vector<TaskResult> tasks;
  std::vector<double> weights;
  double score = 0;  // NaN when no task has a rate as its primary metric
  double seconds = 0;
};

// Runs every task in order.
SuiteResult run_suite(const Engine& engine, const Suite& suite, const HarnessOptions& options);

// The weighted score of the tasks' primary metrics (see above).
double suite_score(const std::vector<TaskResult>& tasks, const std::vector<double>& weights);

}  // namespace enclave::eval
