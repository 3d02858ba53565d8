// Recording evaluations in the workspace store: `eval run` and `eval gate`
// each leave a run (kind "eval" or "gate") whose inputs are the evaluated
// model's registry version (role "model"; "baseline" for the gate's
// baseline) and any dataset versions the tasks read, whose params hold the
// suite, options and resolved task configs, whose metrics are
// "<task>/<metric>" and "<task>/<metric>_stderr" (step 0) plus
// "suite/score", and whose output artifact "results" is the results JSON. So
// `enclave runs show`, `enclave lineage MODEL --down` and `enclave runs
// compare` find them. A model given as a plain directory is recorded by path
// in the params (it is not copied into the store). `eval run` also stores
// every metric's per-document values (output "per_document"), so a later
// `eval gate` of the same model version, suite and settings reuses them
// (find_recorded_eval) instead of evaluating again.
// Thread safety: one recorder per thread; it owns its workspace connection.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "eval/suite.h"
#include "store/runs.h"
#include "store/workspace.h"

namespace enclave::eval {

struct RecordTarget {
  store::FindOptions workspace;
  std::vector<std::string> command;  // argv
};

class EvalRecorder {
 public:
  // Starts a run (status running); if the process dies or an exception
  // unwinds past the recorder, the run ends as failed.
  EvalRecorder(const RecordTarget& target, std::string kind, std::string name,
               nlohmann::json params);
  ~EvalRecorder();
  EvalRecorder(const EvalRecorder&) = delete;
  EvalRecorder& operator=(const EvalRecorder&) = delete;

  // Opens a recorder when a workspace can be found; nullptr (and why in
  // reason) when none exists and none was named explicitly. An explicitly
  // named workspace that is missing throws Error(kNotFound).
  static std::unique_ptr<EvalRecorder> open_if_workspace(const RecordTarget& target,
                                                         std::string kind, std::string name,
                                                         nlohmann::json params,
                                                         std::string& reason);

  // Records the model reference as an input: its registry version when it
  // names one, else its path in the params.
  void log_model(const std::string& ref, const std::string& role);
  // Metrics of every task (prefix "" for the evaluated model) and the
  // dataset versions the tasks read.
  void log_results(const SuiteResult& result, const std::string& prefix = "");
  void log_params(const nlohmann::json& params);
  void log_metric(const std::string& key, double value);
  // Stores the file as an input artifact (e.g. the gate rules).
  void log_input_file(const std::filesystem::path& path, const std::string& role);
  // Stores json as the output artifact `role` (a file <role>.json).
  void log_output_json(const nlohmann::json& json, const std::string& role);
  void finish();

  std::int64_t run_id() const;

 private:
  std::unique_ptr<store::Workspace> workspace_;
  std::unique_ptr<store::Run> run_;
};

// Every metric's per-document values and weights with what aggregates them,
// and the suite's weights and score: enough to rebuild the SuiteResult.
nlohmann::json per_document_json(const SuiteResult& result);
// Throws Error(kInvalidInput) naming what for a value that is not one.
SuiteResult per_document_result(const nlohmann::json& value, std::string_view what);

struct RecordedEval {
  SuiteResult result;
  std::int64_t run_id = 0;
};
// The newest finished `eval run` of the registry version `model` names,
// with the registry version `adapter` names on top (or with no adapter when
// it is ""), whose params hold every key of params with the same value, read
// back from its "per_document" output. nullopt when model or adapter is a
// folder (its files may change under its path) or there is no such run (runs
// recorded before per-document values were stored included).
std::optional<RecordedEval> find_recorded_eval(store::Workspace& workspace,
                                               const std::string& model, const std::string& adapter,
                                               const nlohmann::json& params);

}  // namespace enclave::eval
