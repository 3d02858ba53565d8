// judge tasks: the evaluated model answers each prompt, the judge grades the
// answer (single) or compares it with the document's reference answer in both
// orders (pairwise). See judge.h.
#include "core/error.h"
#include "eval/evaluators.h"
#include "eval/judge.h"
#include "eval/template.h"

namespace enclave::eval {

void evaluate_judge(const TaskRun& run, TaskResult& result) {
  const JudgeSpec& spec = run.task.judge;
  std::unique_ptr<JudgeBackend> judge =
      make_judge_backend(spec, {.workspace = run.options.workspace,
                                .engine = run.options.judge_engine,
                                .allowed_hosts = run.options.judge_hosts});
  const std::string rubric = !spec.rubric.empty() ? spec.rubric
                             : spec.pairwise      ? default_pairwise_rubric()
                                                  : default_single_rubric(spec);
  MetricSamples* score = metric_slot(result.metrics, "score");
  MetricSamples* score_norm = metric_slot(result.metrics, "score_norm");
  MetricSamples* win_rate = metric_slot(result.metrics, "win_rate");
  MetricSamples* invalid_rate = metric_slot(result.metrics, "judge_invalid");
  if ((score != nullptr || score_norm != nullptr) && spec.pairwise) {
    fail_input("task '{}': metrics score/score_norm need judge mode single", run.task.name);
  }
  if (win_rate != nullptr && !spec.pairwise)
    fail_input("task '{}': metric win_rate needs judge mode pairwise", run.task.name);

  // The answers first (batched), then the judge's grades.
  std::vector<std::string> answers;
  {
    auto answering = make_progress(run, run.docs.docs.size(), "answers");
    answers = generate_answers(run, answering.get());
    answering->finish();
  }
  auto progress = make_progress(run, run.docs.docs.size(), "docs");
  for (std::size_t i = 0; i < run.docs.docs.size(); ++i) {
    const std::string what = fmt::format("task '{}': document {}", run.task.name, i);
    const nlohmann::json& doc = run.docs.docs[i];
    const std::string answer = apply_filter(run.task.filter, answers[i]);
    nlohmann::json fields = doc;
    fields["prompt"] = render_template(run.task.doc_to_text, doc, what + ": doc_to_text");
    nlohmann::json sample = {{"doc", i}, {"response", answer}};
    bool invalid = false;
    if (!spec.pairwise) {
      fields["response"] = answer;
      const std::string reply = judge->complete(render_template(rubric, fields, what + ": rubric"));
      const std::optional<double> rating = parse_judge_score(reply, spec);
      invalid = !rating;
      const double value =
          rating.value_or(spec.min_score);  // unreadable counts as the lowest rating
      if (score != nullptr) score->add(value);
      if (score_norm != nullptr)
        score_norm->add((value - spec.min_score) / (spec.max_score - spec.min_score));
      sample["judge_reply"] = reply;
      sample["rating"] = rating ? nlohmann::json(*rating) : nlohmann::json();
    } else {
      const std::string reference = render_template(spec.reference, doc, what + ": reference");
      fields["response_a"] = answer;
      fields["response_b"] = reference;
      const std::string first = judge->complete(render_template(rubric, fields, what + ": rubric"));
      fields["response_a"] = reference;
      fields["response_b"] = answer;
      const std::string second =
          judge->complete(render_template(rubric, fields, what + ": rubric"));
      const double outcome =
          pairwise_outcome(parse_pairwise_vote(first), parse_pairwise_vote(second), invalid);
      if (win_rate != nullptr) win_rate->add(outcome);
      sample["judge_replies"] = {first, second};
      sample["outcome"] = outcome;
    }
    if (invalid_rate != nullptr) invalid_rate->add(invalid ? 1.0 : 0.0);
    if (run.options.keep_samples) result.samples.push_back(std::move(sample));
    progress->advance();
  }
  progress->finish();
}

}  // namespace enclave::eval
