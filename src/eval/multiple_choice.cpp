// multiple_choice: the log-likelihood of each choice as a continuation of
// the prompt; the prediction is the most likely choice (acc), or the most
// likely per byte of the choice's text (acc_norm), as lm-evaluation-harness
// defines them. Ties go to the first choice.
#include <cmath>
#include <limits>

#include "core/error.h"
#include "eval/evaluators.h"
#include "eval/scorer.h"
#include "eval/template.h"

namespace enclave::eval {

void evaluate_multiple_choice(const TaskRun& run, TaskResult& result) {
  struct Doc {
    std::vector<std::string> choices;
    std::size_t gold = 0;
    std::size_t first_request = 0;
  };
  std::vector<Doc> docs;
  std::vector<LoglikelihoodRequest> requests;
  for (std::size_t i = 0; i < run.docs.docs.size(); ++i) {
    const std::string what = fmt::format("task '{}': document {}", run.task.name, i);
    const nlohmann::json& doc = run.docs.docs[i];
    Doc d;
    d.choices = render_choices(run.task.doc_to_choice, doc, what);
    d.gold = gold_index(run.task, doc, d.choices, what);
    d.first_request = requests.size();
    const std::string context = run.prompts.context(i);
    for (const std::string& choice : d.choices) {
      ContinuationTokens t =
          run.prompts.continuation_tokens(context, run.prompts.answer_delimiter() + choice);
      requests.push_back({std::move(t.tokens), t.n_continuation});
    }
    docs.push_back(std::move(d));
  }
  auto progress = make_progress(run, requests.size(), "choices");
  std::vector<LoglikelihoodResult> scores =
      score_requests(run.engine, requests,
                     {.batch_size = run.options.batch_size,
                      .share_prefix = run.options.share_prefix && run.options.batch_size > 1,
                      .progress = progress.get()});
  progress->finish();

  MetricSamples* acc = metric_slot(result.metrics, "acc");
  MetricSamples* acc_norm = metric_slot(result.metrics, "acc_norm");
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const Doc& d = docs[i];
    std::size_t best = 0;
    std::size_t best_norm = 0;
    double best_ll = -std::numeric_limits<double>::infinity();
    double best_norm_ll = -std::numeric_limits<double>::infinity();
    nlohmann::json lls = nlohmann::json::array();
    for (std::size_t c = 0; c < d.choices.size(); ++c) {
      const double ll = scores[d.first_request + c].logprob;
      const double bytes = std::max<double>(1.0, static_cast<double>(d.choices[c].size()));
      if (ll > best_ll) {
        best_ll = ll;
        best = c;
      }
      if (ll / bytes > best_norm_ll) {
        best_norm_ll = ll / bytes;
        best_norm = c;
      }
      lls.push_back(ll);
    }
    if (acc != nullptr) acc->add(best == d.gold ? 1.0 : 0.0);
    if (acc_norm != nullptr) acc_norm->add(best_norm == d.gold ? 1.0 : 0.0);
    if (run.options.keep_samples) {
      nlohmann::json requests_json = nlohmann::json::array();
      for (std::size_t c = 0; c < d.choices.size(); ++c) {
        const LoglikelihoodRequest& r = requests[d.first_request + c];
        requests_json.push_back({{"tokens", r.tokens}, {"n_continuation", r.n_continuation}});
      }
      result.samples.push_back({{"doc", i},
                                {"context", run.prompts.context(i)},
                                {"choices", d.choices},
                                {"gold", d.gold},
                                {"loglikelihoods", lls},
                                {"pred", best},
                                {"pred_norm", best_norm},
                                {"requests", requests_json}});
    }
  }
}

}  // namespace enclave::eval
