#include "eval/harness.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "eval/evaluators.h"
#include "model/batch_decoder.h"
#include "model/batch_generation.h"

namespace enclave::eval {

const MetricSamples* TaskResult::find(std::string_view metric) const {
  for (const MetricSamples& m : metrics) {
    if (m.name == metric) return &m;
  }
  return nullptr;
}

bool higher_is_better(std::string_view metric) {
  return metric != "perplexity" && metric != "bits_per_byte" && metric != "judge_invalid";
}

std::vector<MetricSamples> make_metric_samples(const std::vector<MetricSpec>& metrics) {
  std::vector<MetricSamples> out;
  for (const MetricSpec& spec : metrics) {
    MetricSamples m;
    m.name = spec.name;
    m.higher_is_better = higher_is_better(spec.name);
    if (spec.name == "perplexity") m.aggregation = Aggregation::kPerplexity;
    if (spec.name == "bits_per_byte") m.aggregation = Aggregation::kBitsPerByte;
    out.push_back(std::move(m));
  }
  return out;
}

MetricSamples* metric_slot(std::vector<MetricSamples>& metrics, std::string_view name) {
  for (MetricSamples& m : metrics) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::unique_ptr<Progress> make_progress(const TaskRun& run, std::uint64_t total,
                                        const std::string& unit) {
  ProgressOptions options{.label = run.task.name, .total = total, .unit = unit};
  if (run.options.show_progress) return std::make_unique<Progress>(options);
  return std::make_unique<Progress>(options, stderr, /*draw=*/false);
}

namespace {

// The task's generation settings for one document (its seed offset by the
// document's index, so sampled answers do not depend on the batch).
GenerateOptions answer_options(const GenerationSpec& g, std::size_t doc_index) {
  GenerateOptions options;
  options.max_tokens = g.max_gen_toks;
  options.stop = g.until;
  options.sampling.temperature = g.temperature;
  options.sampling.top_p = g.top_p;
  options.sampling.seed = g.seed + doc_index;
  return options;
}

}  // namespace

std::vector<std::string> generate_answers(const TaskRun& run, Progress* progress) {
  const GenerationSpec& g = run.task.generation;
  const std::size_t n = run.docs.docs.size();
  std::vector<std::string> answers(n);
  auto advance = [progress] {
    if (progress != nullptr) progress->advance();
  };
  if (run.options.batch_size == 1 || n < 2) {
    for (std::size_t i = 0; i < n; ++i) {
      const std::vector<TokenId> prompt = run.prompts.context_tokens(i, /*reserve=*/g.max_gen_toks);
      answers[i] = run.engine.generate(prompt, answer_options(g, i), {}).text;
      advance();
    }
    return answers;
  }
  // The cache holds batch_size sequences of the longest prompt and its
  // answer, not of the model's whole context.
  const std::int64_t context = run.engine.config().max_position_embeddings;
  std::vector<BatchGenerateRequest> requests(n);
  std::int64_t max_len = 1;
  for (std::size_t i = 0; i < n; ++i) {
    requests[i] = {run.prompts.context_tokens(i, /*reserve=*/g.max_gen_toks), answer_options(g, i)};
    const auto n_prompt = static_cast<std::int64_t>(requests[i].prompt.size());
    max_len = std::max(max_len, std::min(context, n_prompt + std::max(g.max_gen_toks - 1, 0)));
  }
  std::unique_ptr<BatchDecoder> decoder = BatchDecoder::from_engine(
      run.engine, {.n_slots = static_cast<int>(std::min<std::size_t>(run.options.batch_size, n)),
                   .max_len = static_cast<int>(max_len)});
  std::vector<GenerateResult> results =
      generate_batch(*decoder, requests, {.on_done = [&](std::size_t) { advance(); }});
  for (std::size_t i = 0; i < n; ++i) answers[i] = std::move(results[i].text);
  return answers;
}

TaskResult run_task(const Engine& engine, const TaskSpec& task, const HarnessOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (engine.tokenizer() == nullptr) {
    fail(ErrorKind::kNotFound,
         "task '{}': the model has no tokenizer (tokenizer.json or tokenizer.model)", task.name);
  }
  TaskDocs docs = load_task_docs(task, {.workspace = options.workspace, .limit = options.limit});
  TaskResult result;
  result.task = task.name;
  result.output_type = task.output_type;
  result.n_docs = docs.docs.size();
  result.n_available = docs.n_available;
  result.num_fewshot = options.num_fewshot.value_or(task.num_fewshot);
  result.chat_template = options.chat_template.value_or(task.chat_template);
  result.data_sha256 = docs.data_sha256;
  result.dataset_version_id = docs.dataset_version_id;

  PromptBuilder prompts(task, docs, *engine.tokenizer(), engine.chat_template(),
                        result.chat_template, result.num_fewshot,
                        engine.config().max_position_embeddings);
  TaskRun run{engine, task, docs, prompts, options, effective_metrics(task)};
  result.metrics = make_metric_samples(run.metrics);
  switch (task.output_type) {
    case OutputType::kMultipleChoice:
      evaluate_multiple_choice(run, result);
      break;
    case OutputType::kLoglikelihood:
      evaluate_loglikelihood(run, result);
      break;
    case OutputType::kPerplexity:
      evaluate_perplexity(run, result);
      break;
    case OutputType::kGenerateUntil:
      evaluate_generate_until(run, result);
      break;
    case OutputType::kInstructionFollowing:
      evaluate_instruction_following(run, result);
      break;
    case OutputType::kJudge:
      evaluate_judge(run, result);
      break;
  }
  for (const MetricSamples& m : result.metrics) ENCLAVE_CHECK(m.size() == result.n_docs);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace enclave::eval
