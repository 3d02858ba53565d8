#include "eval/suite.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <set>

#include "core/error.h"
#include "core/json.h"
#include "core/yaml.h"
#include "eval/builtin_tasks.h"

namespace enclave::eval {
namespace fs = std::filesystem;
namespace {

TaskSpec resolve_task(const std::string& ref, const fs::path& base_dir, std::string_view what) {
  const fs::path path = fs::path(ref).is_absolute() ? fs::path(ref) : base_dir / ref;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return load_task_file(path);
  if (std::optional<TaskSpec> builtin = builtin_task(ref)) return *builtin;
  fail(ErrorKind::kNotFound,
       "{}: task '{}' is neither a file ({}) nor a built-in task (see `enclave eval tasks`)", what,
       ref, path.string());
}

}  // namespace

Suite parse_suite(const nlohmann::json& root, const fs::path& base_dir, std::string_view what) {
  if (!root.is_object())
    fail_input("{}: expected a mapping with 'tasks', got {}", what, json_type_name(root));
  for (const auto& [key, value] : root.items()) {
    if (key != "suite" && key != "tasks" && key != "description")
      fail_input("{}: unknown field '{}'", what, key);
  }
  Suite suite;
  suite.source = std::string(what);
  suite.name = json_string(root, "suite", what, fs::path(std::string(what)).stem().string());
  if (!root.contains("tasks") || !root["tasks"].is_array() || root["tasks"].empty()) {
    fail_input("{}: field 'tasks': expected a non-empty list", what);
  }
  std::set<std::string> names;
  const nlohmann::json& tasks = root["tasks"];
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const std::string ctx = fmt::format("{}: tasks[{}]", what, i);
    const nlohmann::json& item = tasks[i];
    SuiteEntry entry;
    if (item.is_string()) {
      entry.task = resolve_task(item.get<std::string>(), base_dir, ctx);
    } else if (item.is_object()) {
      for (const auto& [key, value] : item.items()) {
        if (key != "task" && key != "weight" && key != "name" && key != "limit" &&
            key != "num_fewshot") {
          fail_input("{}: unknown field '{}'", ctx, key);
        }
      }
      entry.task = resolve_task(json_string(item, "task", ctx), base_dir, ctx);
      entry.weight = json_number(item, "weight", ctx, 1.0);
      if (!(entry.weight > 0) || !std::isfinite(entry.weight)) {
        fail_input("{}: field 'weight': must be > 0, got {}", ctx, entry.weight);
      }
      entry.task.name = json_string(item, "name", ctx, entry.task.name);
      if (item.contains("limit")) {
        const double limit = json_number(item, "limit", ctx);
        if (!(limit > 0)) fail_input("{}: field 'limit': must be > 0", ctx);
        entry.task.limit = limit;
      }
      if (item.contains("num_fewshot")) {
        const std::int64_t shots = json_int(item, "num_fewshot", ctx);
        if (shots < 0 || shots > 1000)
          fail_input("{}: field 'num_fewshot': must be in [0, 1000]", ctx);
        entry.task.num_fewshot = static_cast<int>(shots);
      }
    } else {
      fail_input("{}: expected a task name or a mapping, got {}", ctx, json_type_name(item));
    }
    if (entry.task.name.empty()) fail_input("{}: empty task name", ctx);
    if (!names.insert(entry.task.name).second) {
      fail_input("{}: task name '{}' appears twice; rename one with 'name:'", ctx, entry.task.name);
    }
    suite.entries.push_back(std::move(entry));
  }
  return suite;
}

Suite load_suite(const std::string& spec) {
  std::error_code ec;
  if (fs::is_regular_file(spec, ec)) {
    const nlohmann::json value = read_yaml_file(spec);
    const fs::path base = fs::absolute(spec).parent_path();
    if (value.is_object() && value.contains("task") && !value.contains("tasks")) {
      TaskSpec task = parse_task(value, base, spec);
      return Suite{.name = task.name, .source = spec, .entries = {{.task = std::move(task)}}};
    }
    return parse_suite(value, base, spec);
  }
  if (std::optional<Suite> suite = builtin_suite(spec)) return *suite;
  if (std::optional<TaskSpec> task = builtin_task(spec)) {
    return Suite{.name = task->name, .source = "builtin", .entries = {{.task = std::move(*task)}}};
  }
  std::string names;
  for (const std::string& n : builtin_suite_names()) names += (names.empty() ? "" : ", ") + n;
  fail(ErrorKind::kNotFound,
       "suite '{}': no such file, and not a built-in suite ({}) or task (see `enclave eval tasks`)",
       spec, names);
}

double suite_score(const std::vector<TaskResult>& tasks, const std::vector<double>& weights) {
  double sum = 0;
  double total_weight = 0;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    if (tasks[i].metrics.empty()) continue;
    const MetricSamples& primary = tasks[i].metrics.front();
    if (primary.aggregation != Aggregation::kMean || !primary.higher_is_better) continue;
    const double value = aggregate(primary);
    if (!std::isfinite(value)) continue;
    sum += weights[i] * value;
    total_weight += weights[i];
  }
  return total_weight > 0 ? sum / total_weight : std::numeric_limits<double>::quiet_NaN();
}

SuiteResult run_suite(const Engine& engine, const Suite& suite, const HarnessOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  SuiteResult out;
  out.suite = suite.name;
  for (const SuiteEntry& entry : suite.entries) {
    out.tasks.push_back(run_task(engine, entry.task, options));
    out.weights.push_back(entry.weight);
  }
  out.score = suite_score(out.tasks, out.weights);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace enclave::eval
