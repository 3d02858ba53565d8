// loglikelihood and perplexity tasks.
// loglikelihood: the target as a continuation of the prompt (lm-eval's
// `loglikelihood`, e.g. LAMBADA): token perplexity exp(-sum ll / tokens),
// bits per byte -sum ll / (ln 2 * bytes of the continuation's text), and acc
// (every target token is the model's greedy choice).
// perplexity: the whole target text scored from BOS (lm-eval's
// `loglikelihood_rolling`, e.g. WikiText), in windows of the model's context
// when it is longer, each token scored once.
#include "core/error.h"
#include "eval/evaluators.h"
#include "eval/scorer.h"
#include "eval/template.h"

namespace enclave::eval {

void evaluate_loglikelihood(const TaskRun& run, TaskResult& result) {
  std::vector<LoglikelihoodRequest> requests;
  std::vector<std::size_t> n_bytes;
  for (std::size_t i = 0; i < run.docs.docs.size(); ++i) {
    const std::string what = fmt::format("task '{}': document {}", run.task.name, i);
    const std::string target =
        render_targets(run.task.doc_to_target, run.docs.docs[i], what).front();
    const std::string continuation = run.prompts.answer_delimiter() + target;
    ContinuationTokens t = run.prompts.continuation_tokens(run.prompts.context(i), continuation);
    requests.push_back({std::move(t.tokens), t.n_continuation});
    n_bytes.push_back(continuation.size());
  }
  MetricSamples* acc = metric_slot(result.metrics, "acc");
  auto progress = make_progress(run, requests.size(), "docs");
  std::vector<LoglikelihoodResult> scores = score_requests(run.engine, requests,
                                                           {.batch_size = run.options.batch_size,
                                                            .need_greedy = acc != nullptr,
                                                            .progress = progress.get()});
  progress->finish();
  MetricSamples* ppl = metric_slot(result.metrics, "perplexity");
  MetricSamples* bpb = metric_slot(result.metrics, "bits_per_byte");
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const LoglikelihoodResult& s = scores[i];
    if (ppl != nullptr) ppl->add(s.logprob, static_cast<double>(s.n_tokens));
    if (bpb != nullptr)
      bpb->add(s.logprob, static_cast<double>(std::max<std::size_t>(1, n_bytes[i])));
    if (acc != nullptr) acc->add(s.greedy ? 1.0 : 0.0);
    if (run.options.keep_samples) {
      result.samples.push_back({{"doc", i},
                                {"tokens", requests[i].tokens},
                                {"n_continuation", requests[i].n_continuation},
                                {"loglikelihood", s.logprob},
                                {"greedy", s.greedy}});
    }
  }
}

void evaluate_perplexity(const TaskRun& run, TaskResult& result) {
  const std::int64_t max_len = run.engine.config().max_position_embeddings;
  std::vector<LoglikelihoodRequest> requests;
  std::vector<std::size_t> first_window;  // per document, then a sentinel
  std::vector<std::size_t> n_bytes;
  for (std::size_t i = 0; i < run.docs.docs.size(); ++i) {
    const std::string what = fmt::format("task '{}': document {}", run.task.name, i);
    const std::string text = render_targets(run.task.doc_to_target, run.docs.docs[i], what).front();
    if (text.empty()) fail_input("{}: the text to score is empty", what);
    first_window.push_back(requests.size());
    for (LoglikelihoodRequest& r : rolling_windows(run.prompts.document_tokens(text), max_len)) {
      requests.push_back(std::move(r));
    }
    n_bytes.push_back(text.size());
  }
  first_window.push_back(requests.size());
  auto progress = make_progress(run, requests.size(), "windows");
  std::vector<LoglikelihoodResult> scores = score_requests(
      run.engine, requests, {.batch_size = run.options.batch_size, .progress = progress.get()});
  progress->finish();
  MetricSamples* ppl = metric_slot(result.metrics, "perplexity");
  MetricSamples* bpb = metric_slot(result.metrics, "bits_per_byte");
  for (std::size_t i = 0; i < n_bytes.size(); ++i) {
    double ll = 0;
    std::size_t n_tokens = 0;
    for (std::size_t w = first_window[i]; w < first_window[i + 1]; ++w) {
      ll += scores[w].logprob;
      n_tokens += scores[w].n_tokens;
    }
    if (ppl != nullptr) ppl->add(ll, static_cast<double>(n_tokens));
    if (bpb != nullptr) bpb->add(ll, static_cast<double>(n_bytes[i]));
    if (run.options.keep_samples) {
      result.samples.push_back(
          {{"doc", i}, {"loglikelihood", ll}, {"n_tokens", n_tokens}, {"n_bytes", n_bytes[i]}});
    }
  }
}

}  // namespace enclave::eval
