#include "eval/record.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/file.h"
#include "core/staging_dir.h"
#include "eval/report.h"
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

}  // namespace enclave::eval
