#include "eval/record.h"

#include <fmt/format.h>

#include <cmath>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "core/staging_dir.h"
#include "eval/report.h"
#include "store/artifacts.h"
#include "store/registry.h"

namespace enclave::eval {
namespace fs = std::filesystem;

EvalRecorder::EvalRecorder(const RecordTarget& target, std::string kind, std::string name,
                           nlohmann::json params)
    : workspace_(store::Workspace::open(target.workspace)) {
  run_ = std::make_unique<store::Run>(workspace_->root(),
                                      store::RunOptions{.kind = std::move(kind),
                                                        .name = std::move(name),
                                                        .command = target.command,
                                                        .params = std::move(params)});
}

EvalRecorder::~EvalRecorder() = default;

std::unique_ptr<EvalRecorder> EvalRecorder::open_if_workspace(const RecordTarget& target,
                                                              std::string kind, std::string name,
                                                              nlohmann::json params,
                                                              std::string& reason) {
  if (target.workspace.workspace.empty()) {
    try {
      store::find_workspace(target.workspace);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kNotFound) throw;
      reason = e.what();
      return nullptr;
    }
  }
  return std::make_unique<EvalRecorder>(target, std::move(kind), std::move(name),
                                        std::move(params));
}

std::int64_t EvalRecorder::run_id() const { return run_->id(); }

void EvalRecorder::log_model(const std::string& ref, const std::string& role) {
  std::error_code ec;
  if (fs::is_directory(ref, ec)) {
    run_->log_params({{role + "_path", fs::absolute(ref).string()}});
    return;
  }
  const store::VersionInfo version =
      store::resolve_version(workspace_->db(), store::RegistryKind::kModel, ref);
  run_->log_input_version(version.id, role);
  run_->log_params({{role, version.ref()}});
}

void EvalRecorder::log_results(const SuiteResult& result, const std::string& prefix) {
  for (const TaskResult& t : result.tasks) {
    for (const MetricSamples& m : t.metrics) {
      const std::string key = fmt::format("{}{}/{}", prefix, t.task, m.name);
      run_->log_metric(key, aggregate(m), 0);
      run_->log_metric(key + "_stderr", standard_error(m), 0);
    }
    if (prefix.empty() && t.dataset_version_id)
      run_->log_input_version(*t.dataset_version_id, "dataset");
  }
  run_->log_metric(prefix + "suite/score", result.score, 0);
}

void EvalRecorder::log_params(const nlohmann::json& params) { run_->log_params(params); }

void EvalRecorder::log_metric(const std::string& key, double value) {
  run_->log_metric(key, value, 0);
}

void EvalRecorder::log_input_file(const fs::path& path, const std::string& role) {
  run_->log_input(path, role);
}

void EvalRecorder::log_output_json(const nlohmann::json& json, const std::string& role) {
  // Locked until the store has copied it in, so `store gc` leaves it alone.
  const StagingDir dir = StagingDir::scratch(workspace_->tmp_dir(), "eval");
  const fs::path file = dir.path() / (role + ".json");
  write_file_atomic(file,
                    json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  run_->log_output(file, role);
}

void EvalRecorder::finish() { run_->finish(store::RunStatus::kFinished); }

nlohmann::json per_document_json(const SuiteResult& result) {
  nlohmann::json tasks = nlohmann::json::array();
  for (const TaskResult& t : result.tasks) {
    nlohmann::json metrics = nlohmann::json::array();
    for (const MetricSamples& m : t.metrics) {
      metrics.push_back({{"name", m.name},
                         {"aggregation", to_string(m.aggregation)},
                         {"higher_is_better", m.higher_is_better},
                         {"values", m.values},
                         {"weights", m.weights}});
    }
    nlohmann::json j = {{"task", t.task},
                        {"output_type", to_string(t.output_type)},
                        {"n_docs", t.n_docs},
                        {"n_available", t.n_available},
                        {"num_fewshot", t.num_fewshot},
                        {"chat_template", t.chat_template},
                        {"data_sha256", t.data_sha256},
                        {"seconds", t.seconds},
                        {"metrics", metrics}};
    if (t.dataset_version_id) j["dataset_version_id"] = *t.dataset_version_id;
    tasks.push_back(std::move(j));
  }
  return {{"format_version", 1},
          {"suite", result.suite},
          {"weights", result.weights},
          {"score", std::isfinite(result.score) ? nlohmann::json(result.score) : nlohmann::json()},
          {"seconds", result.seconds},
          {"tasks", tasks}};
}

SuiteResult per_document_result(const nlohmann::json& v, std::string_view what) {
  if (json_int(v, "format_version", what) != 1)
    fail_input("{}: per-document results format version {} is not 1", what,
               v["format_version"].dump());
  SuiteResult r;
  r.suite = json_string(v, "suite", what);
  r.score = v.contains("score") && v["score"].is_number() ? v["score"].get<double>() : NAN;
  r.seconds = json_number(v, "seconds", what);
  if (!v.contains("weights") || !v["weights"].is_array() || !v.contains("tasks") ||
      !v["tasks"].is_array() || v["weights"].size() != v["tasks"].size())
    fail_input("{}: expected lists 'weights' and 'tasks' of one length", what);
  r.weights = v["weights"].get<std::vector<double>>();
  for (const nlohmann::json& t : v["tasks"]) {
    TaskResult task;
    task.task = json_string(t, "task", what);
    task.output_type = parse_output_type(json_string(t, "output_type", what), what);
    task.n_docs = static_cast<std::size_t>(json_int(t, "n_docs", what));
    task.n_available = static_cast<std::size_t>(json_int(t, "n_available", what));
    task.num_fewshot = static_cast<int>(json_int(t, "num_fewshot", what));
    task.chat_template = json_bool(t, "chat_template", what, false);
    task.data_sha256 = json_string(t, "data_sha256", what);
    task.seconds = json_number(t, "seconds", what);
    if (t.contains("dataset_version_id"))
      task.dataset_version_id = json_int(t, "dataset_version_id", what);
    for (const nlohmann::json& m : t.at("metrics")) {
      MetricSamples s;
      s.name = json_string(m, "name", what);
      const std::string agg = json_string(m, "aggregation", what);
      s.aggregation = agg == to_string(Aggregation::kPerplexity)    ? Aggregation::kPerplexity
                      : agg == to_string(Aggregation::kBitsPerByte) ? Aggregation::kBitsPerByte
                                                                    : Aggregation::kMean;
      s.higher_is_better = json_bool(m, "higher_is_better", what, true);
      s.values = m.at("values").get<std::vector<double>>();
      s.weights = m.at("weights").get<std::vector<double>>();
      if (s.values.size() != s.weights.size())
        fail_input("{}: {}.{}: values and weights differ in length", what, task.task, s.name);
      task.metrics.push_back(std::move(s));
    }
    r.tasks.push_back(std::move(task));
  }
  return r;
}

std::optional<RecordedEval> find_recorded_eval(store::Workspace& workspace,
                                               const std::string& model, const std::string& adapter,
                                               const nlohmann::json& params) {
  std::error_code ec;
  if (fs::is_directory(model, ec) || fs::is_directory(adapter, ec)) return std::nullopt;
  const store::VersionInfo version =
      store::resolve_version(workspace.db(), store::RegistryKind::kModel, model);
  // EvalRecorder::log_model records a registered adapter as its version ref.
  const std::string adapter_ref =
      adapter.empty()
          ? std::string()
          : store::resolve_version(workspace.db(), store::RegistryKind::kModel, adapter).ref();
  store::Statement q(workspace.db(),
                     "SELECT r.id, r.params, o.artifact FROM runs r"
                     " JOIN run_io i ON i.run_id = r.id AND i.direction = 'input'"
                     "  AND i.role = 'model' AND i.version_id = ?1"
                     " JOIN run_io o ON o.run_id = r.id AND o.direction = 'output'"
                     "  AND o.role = 'per_document' AND o.artifact IS NOT NULL"
                     " WHERE r.kind = 'eval' AND r.status = 'finished' ORDER BY r.id DESC");
  q.bind(1, version.id);
  while (q.step()) {
    const nlohmann::json recorded = nlohmann::json::parse(q.text(1), nullptr, false);
    if (!recorded.is_object() || recorded.contains("adapter_path")) continue;
    if (recorded.value("adapter", std::string()) != adapter_ref) continue;
    bool same = true;
    for (const auto& [key, value] : params.items()) {
      if (!recorded.contains(key) || recorded[key] != value) {
        same = false;
        break;
      }
    }
    if (!same) continue;
    const std::string what = fmt::format("run {} per_document results", q.int64(0));
    const fs::path file = store::checkout_artifact(workspace, q.text(2));
    return RecordedEval{per_document_result(read_json_file(file), what), q.int64(0)};
  }
  return std::nullopt;
}

}  // namespace enclave::eval
