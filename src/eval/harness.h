// The harness: runs one task against a loaded model and returns its metrics
// with the per-document values behind them. Each output type has its own
// evaluator (multiple_choice.cpp, loglikelihood.cpp, generate_until.cpp,
// instruction_following.cpp, judge_task.cpp); all of them reach the model only
// through Engine::score / score_batch / generate, the code path of
// `enclave score` and `enclave generate`, or for batched answers a
// BatchDecoder over the engine's model (generate's sampling and stop rules;
// logits equal up to float rounding).
// Thread safety: one run_task at a time per engine.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "eval/metric_samples.h"
#include "eval/task_spec.h"
#include "model/engine.h"
#include "store/workspace.h"

namespace enclave::eval {

struct HarnessOptions {
  // Sequences per forward pass when scoring, and answers generated together
  // (continuous batching); 1: Engine::score / Engine::generate one sequence
  // at a time, exactly the path of `enclave score` / `enclave generate`.
  int batch_size = 8;
  bool share_prefix = true;        // choices of one question share one context run (batch_size > 1)
  std::optional<double> limit;     // overrides each task's limit
  std::optional<int> num_fewshot;  // overrides each task's num_fewshot
  std::optional<bool> chat_template;     // overrides each task's chat_template
  bool keep_samples = false;             // keep per-document prompts, answers and scores
  bool keep_mistakes = false;            // keep wrong generate_until answers as preference pairs
  bool show_progress = false;            // a progress line on the terminal
  store::FindOptions workspace;          // for dataset and judge model references
  EngineOptions judge_engine;            // compute options for a local judge model
  std::vector<std::string> judge_hosts;  // judge servers allowed beyond loopback
};

struct TaskResult {
  std::string task;
  OutputType output_type = OutputType::kGenerateUntil;
  std::size_t n_docs = 0;
  std::size_t n_available = 0;
  int num_fewshot = 0;
  bool chat_template = false;
  std::vector<MetricSamples>
      metrics;  // in the task's metric order; the first is the primary metric
  std::vector<nlohmann::json> samples;  // per document, when keep_samples
  // generate_until with keep_mistakes: one TRL preference record per document
  // whose primary metric is below 1 and whose answer is not empty:
  // {"prompt": the task's messages (chat) or context text, "chosen": the
  //  reference, "rejected": the model's answer, "task", "doc"}; in chat mode
  // chosen and rejected are one assistant message each, in plain mode text
  // starting with the target delimiter.
  std::vector<nlohmann::json> mistakes;
  std::string data_sha256;
  std::optional<std::int64_t> dataset_version_id;
  double seconds = 0;

  // nullptr if the task has no such metric.
  const MetricSamples* find(std::string_view metric) const;
};

// Runs the task. Throws Error(kInvalidInput) for documents the task's
// templates cannot render, Error(kNotFound) for missing data, and whatever
// the engine throws.
TaskResult run_task(const Engine& engine, const TaskSpec& task, const HarnessOptions& options);

// Whether a higher value of this metric is better (false for perplexity,
// bits_per_byte, judge_invalid).
bool higher_is_better(std::string_view metric);

}  // namespace enclave::eval
