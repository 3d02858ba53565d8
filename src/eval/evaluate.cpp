#include "eval/evaluate.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"
#include "core/file.h"
#include "eval/report.h"
#include "model/lora.h"
#include "store/model_ref.h"

namespace enclave::eval {
namespace fs = std::filesystem;
namespace {

SuiteResult evaluate_model(const std::string& ref, const Suite& suite, const EvalCommon& c,
                           const std::string& adapter = "") {
  // A reference naming a LoRA adapter is its base plus the adapter; an
  // --adapter goes on top, and the adapters below it are merged first.
  const store::ResolvedModel model = store::resolve_model(
      {.model = ref, .adapter = adapter, .max_unmerged = 1},
      {.find = c.harness.workspace,
       .merge_adapter = [](const fs::path& base, const fs::path& adapter_dir, const fs::path& out) {
         merge_lora(base, adapter_dir, out, "f32");
       }});
  EngineOptions options = c.engine;
  if (!model.adapter.empty()) options.adapter = model.adapter.string();
  std::unique_ptr<Engine> engine = Engine::load(model.dir, options);
  return run_suite(*engine, suite, c.harness);
}

void check_common(const EvalCommon& c) {
  if (const std::optional<double> limit = c.harness.limit;
      limit && *limit >= 1 && *limit != static_cast<double>(static_cast<std::int64_t>(*limit))) {
    fail_input("--limit: a count must be a whole number (a fraction must be below 1), got {}",
               *limit);
  }
}

// The options a run uses: samples kept when they are written. A run given no
// command records this process's argv (core/program.h).
EvalCommon prepared(const EvalCommon& c) {
  check_common(c);
  EvalCommon out = c;
  if (!c.samples.empty()) out.harness.keep_samples = true;
  return out;
}

void write_samples(const fs::path& path, const std::vector<const SuiteResult*>& results,
                   const std::vector<std::string>& models) {
  std::string out;
  for (std::size_t r = 0; r < results.size(); ++r) {
    for (const TaskResult& t : results[r]->tasks) {
      for (nlohmann::json s : t.samples) {
        s["task"] = t.task;
        if (!models.empty()) s["model"] = models[r];
        out += s.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
      }
    }
  }
  write_file_atomic(path, out);
}

std::size_t write_mistakes(const fs::path& path, const SuiteResult& result) {
  std::string text;
  std::size_t n = 0;
  for (const TaskResult& t : result.tasks) {
    for (const nlohmann::json& pair : t.mistakes) {
      text += pair.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
      ++n;
    }
  }
  write_file_atomic(path, text);
  return n;
}

nlohmann::json run_params(const Suite& suite, const EvalCommon& c) {
  nlohmann::json tasks = nlohmann::json::array();
  for (const SuiteEntry& e : suite.entries) {
    nlohmann::json t = task_to_json(e.task);
    if (e.task.source == "builtin") t["dataset"] = {{"builtin", e.task.name}};
    t["weight"] = e.weight;
    tasks.push_back(std::move(t));
  }
  const HarnessOptions& h = c.harness;
  nlohmann::json params = {{"suite", suite.name},        {"suite_source", suite.source},
                           {"batch_size", h.batch_size}, {"dtype", c.engine.dtype},
                           {"device", c.engine.device},  {"tasks", tasks}};
  if (h.limit) params["limit"] = *h.limit;
  if (h.num_fewshot) params["num_fewshot"] = *h.num_fewshot;
  if (h.chat_template) params["chat_template"] = *h.chat_template;
  return params;
}

RecordTarget target_of(const EvalCommon& c) {
  RecordTarget t = c.record;
  t.workspace = c.harness.workspace;
  return t;
}

std::unique_ptr<EvalRecorder> open_recorder(const EvalCommon& c, const std::string& kind,
                                            const std::string& name, nlohmann::json params,
                                            std::string& reason) {
  if (c.no_record) {
    reason = "--no-record";
    return nullptr;
  }
  return EvalRecorder::open_if_workspace(target_of(c), kind, name, std::move(params), reason);
}

}  // namespace

EvalRunOutcome run_eval(const EvalRunOptions& o) {
  EvalCommon common = prepared(o.common);
  const Suite suite = load_suite(common.suite);
  if (!o.mistakes.empty()) {
    const bool generates = std::any_of(suite.entries.begin(), suite.entries.end(), [](auto& e) {
      return e.task.output_type == OutputType::kGenerateUntil;
    });
    if (!generates) {
      fail_input("--mistakes: suite '{}' has no generate_until task whose answers could be wrong",
                 suite.name);
    }
    common.harness.keep_mistakes = true;
  }
  EvalRunOutcome out;
  nlohmann::json params = run_params(suite, common);
  if (!o.adapter.empty()) params["adapter"] = o.adapter;
  std::unique_ptr<EvalRecorder> rec = open_recorder(common, "eval", suite.name + " " + o.model,
                                                    std::move(params), out.not_recorded);
  if (rec) {
    rec->log_model(o.model, "model");
    if (!o.adapter.empty()) rec->log_model(o.adapter, "adapter");
  }
  out.result = evaluate_model(o.model, suite, common, o.adapter);
  if (!common.samples.empty()) write_samples(common.samples, {&out.result}, {});
  if (!o.mistakes.empty()) out.n_mistakes = write_mistakes(o.mistakes, out.result);
  if (rec) {
    if (!o.mistakes.empty()) rec->log_metric("mistakes", static_cast<double>(out.n_mistakes));
    rec->log_results(out.result);
    rec->log_output_json(suite_result_json(out.result), "results");
    rec->log_output_json(per_document_json(out.result), "per_document");
    rec->finish();
    out.run_id = rec->run_id();
  }
  return out;
}

Comparison run_compare(const CompareOptions& o) {
  const EvalCommon common = prepared(o.common);
  const Suite suite = load_suite(common.suite);
  // Interval settings are checked before hours of evaluation, not after.
  if (o.bootstrap.n_resamples < 10)
    fail_input("--bootstrap must be >= 10, got {}", o.bootstrap.n_resamples);
  if (!(o.bootstrap.confidence > 0 && o.bootstrap.confidence < 1)) {
    fail_input("--confidence must be in (0, 1), got {}", o.bootstrap.confidence);
  }
  const SuiteResult a = evaluate_model(o.model_a, suite, common);
  const SuiteResult b = evaluate_model(o.model_b, suite, common, o.adapter_b);
  if (!common.samples.empty()) write_samples(common.samples, {&a, &b}, {o.model_a, o.model_b});
  Comparison c = compare_results(a, b, o.bootstrap);
  c.model_a = o.model_a;
  c.model_b = o.adapter_b.empty() ? o.model_b : o.model_b + "+" + o.adapter_b;
  return c;
}

// The results of a model on the suite for a gate: those of a recorded `eval
// run` of the same model version, suite and settings when there is one (an
// evaluation is the costly part of a gate), else a fresh evaluation.
SuiteResult gate_results(const std::string& ref, const std::string& adapter, const Suite& suite,
                         const EvalCommon& c, std::optional<std::int64_t>& reused_from) {
  // Recorded runs are matched by model and adapter version; recorded runs
  // keep scores, not the answers --samples needs.
  if (c.samples.empty()) {
    try {
      std::unique_ptr<store::Workspace> ws = store::Workspace::open(c.harness.workspace);
      if (std::optional<RecordedEval> r =
              find_recorded_eval(*ws, ref, adapter, run_params(suite, c))) {
        reused_from = r->run_id;
        return std::move(r->result);
      }
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kNotFound) throw;  // no workspace or no such version
    }
  }
  return evaluate_model(ref, suite, c, adapter);
}

GateOutcome run_gate(const GateOptions& o) {
  const EvalCommon common = prepared(o.common);
  const std::vector<GateRule> rules = load_gate_rules(o.rules);
  if (needs_baseline(rules) && o.baseline.empty()) {
    fail_input("{}: regression and delta rules need --baseline", o.rules.string());
  }
  const Suite suite = load_suite(common.suite);
  // A typo in a rule is found before two models are evaluated for nothing.
  check_gate_selectors(rules, suite_metric_names(suite), o.rules.string());
  GateOutcome out;
  nlohmann::json params = run_params(suite, common);
  params["rules"] = nlohmann::json::array();
  for (const GateRule& r : rules) params["rules"].push_back(r.text);
  if (!o.adapter.empty()) params["adapter"] = o.adapter;
  std::unique_ptr<EvalRecorder> rec = open_recorder(
      common, "gate", "gate " + suite.name + " " + o.model, std::move(params), out.not_recorded);
  if (rec) {
    rec->log_model(o.model, "model");
    if (!o.adapter.empty()) rec->log_model(o.adapter, "adapter");
    if (!o.baseline.empty()) rec->log_model(o.baseline, "baseline");
    rec->log_input_file(o.rules, "gate_rules");
  }
  out.candidate = gate_results(o.model, o.adapter, suite, common, out.candidate_reused_from);
  if (!o.baseline.empty())
    out.baseline = gate_results(o.baseline, "", suite, common, out.baseline_reused_from);
  if (rec) {
    nlohmann::json reused = nlohmann::json::object();
    if (out.candidate_reused_from) reused["model"] = *out.candidate_reused_from;
    if (out.baseline_reused_from) reused["baseline"] = *out.baseline_reused_from;
    if (!reused.empty()) rec->log_params({{"reused_eval_runs", reused}});
  }
  if (!common.samples.empty()) {
    if (out.baseline) {
      write_samples(common.samples, {&out.candidate, &*out.baseline}, {o.model, o.baseline});
    } else {
      write_samples(common.samples, {&out.candidate}, {o.model});
    }
  }
  out.report = evaluate_gate(rules, out.candidate, out.baseline ? &*out.baseline : nullptr);
  if (rec) {
    rec->log_results(out.candidate);
    if (out.baseline) rec->log_results(*out.baseline, "baseline/");
    rec->log_metric("gate/passed", out.report.passed() ? 1.0 : 0.0);
    rec->log_params(
        {{"gate_passed", out.report.passed()}, {"failed_rules", out.report.failed_rules}});
    nlohmann::json results = {{"gate", gate_report_json(out.report)},
                              {"candidate", suite_result_json(out.candidate)}};
    if (out.baseline) results["baseline"] = suite_result_json(*out.baseline);
    rec->log_output_json(results, "results");
    rec->finish();
    out.run_id = rec->run_id();
  }
  return out;
}

std::string format_eval_run(const EvalRunOutcome& out) {
  std::string text = format_results_table(out.result);
  if (out.run_id) text += fmt::format("recorded as run {}\n", *out.run_id);
  return text;
}

nlohmann::json eval_run_json(const EvalRunOptions& o, const EvalRunOutcome& out) {
  nlohmann::json j = suite_result_json(out.result);
  j["model"] = o.model;
  j["run_id"] = out.run_id ? nlohmann::json(*out.run_id) : nlohmann::json();
  if (!o.adapter.empty()) j["adapter"] = o.adapter;
  if (!o.mistakes.empty()) j["mistakes"] = out.n_mistakes;
  return j;
}

std::string format_gate_outcome(const GateOutcome& out) {
  std::string text;
  if (out.candidate_reused_from)
    text += fmt::format("candidate: results of eval run {} reused\n", *out.candidate_reused_from);
  if (out.baseline_reused_from)
    text += fmt::format("baseline: results of eval run {} reused\n", *out.baseline_reused_from);
  text += format_gate_report(out.report);
  if (out.run_id) text += fmt::format("recorded as run {}\n", *out.run_id);
  return text;
}

nlohmann::json gate_outcome_json(const GateOutcome& out) {
  nlohmann::json j = gate_report_json(out.report);
  j["run_id"] = out.run_id ? nlohmann::json(*out.run_id) : nlohmann::json();
  j["reused_eval_runs"] = {
      {"model",
       out.candidate_reused_from ? nlohmann::json(*out.candidate_reused_from) : nlohmann::json()},
      {"baseline",
       out.baseline_reused_from ? nlohmann::json(*out.baseline_reused_from) : nlohmann::json()}};
  j["candidate"] = suite_result_json(out.candidate);
  if (out.baseline) j["baseline"] = suite_result_json(*out.baseline);
  return j;
}

}  // namespace enclave::eval
