// Internal to the harness: what every evaluator gets, and one function per
// output type. Each fills result.metrics (in effective_metrics order) and,
// with keep_samples, result.samples.
// Thread safety: as harness.h.
#pragma once

#include <cstdio>
#include <memory>

#include "core/progress.h"
#include "eval/harness.h"
#include "eval/prompt.h"
#include "eval/task_docs.h"

namespace enclave::eval {

struct TaskRun {
  const Engine& engine;
  const TaskSpec& task;
  const TaskDocs& docs;
  const PromptBuilder& prompts;
  const HarnessOptions& options;
  std::vector<MetricSpec> metrics;  // effective_metrics(task)
};

// New empty samples for each requested metric, named and oriented.
std::vector<MetricSamples> make_metric_samples(const std::vector<MetricSpec>& metrics);
// The samples of `name` in result.metrics, or nullptr if not requested.
MetricSamples* metric_slot(std::vector<MetricSamples>& metrics, std::string_view name);

void evaluate_multiple_choice(const TaskRun& run, TaskResult& result);
void evaluate_loglikelihood(const TaskRun& run, TaskResult& result);
void evaluate_perplexity(const TaskRun& run, TaskResult& result);
void evaluate_generate_until(const TaskRun& run, TaskResult& result);
void evaluate_instruction_following(const TaskRun& run, TaskResult& result);
void evaluate_judge(const TaskRun& run, TaskResult& result);

// A progress line "<task> i/n unit" on the terminal when show_progress.
std::unique_ptr<Progress> make_progress(const TaskRun& run, std::uint64_t total,
                                        const std::string& unit);

// The model's answer to every document, in document order, with the task's
// generation settings (greedy by default, stop strings, max_gen_toks, seed
// + document index), each prompt left-truncated so its answer fits.
// batch_size 1 (or one document): one at a time through Engine::generate,
// the path of `enclave generate`; otherwise up to batch_size documents at a
// time through a BatchDecoder over the engine's model (continuous batching,
// model/batch_generation.h): the same sampling and stop rules on logits
// equal up to float rounding, so only a near-tie between two tokens can
// go the other way (see eval/README.md). progress (may be
// null) advances as each answer is done. Throws what generation throws.
std::vector<std::string> generate_answers(const TaskRun& run, Progress* progress);

}  // namespace enclave::eval
