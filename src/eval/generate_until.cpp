// generate_until: the model's greedy answer (by default) up to a stop string
// or max_gen_toks, filtered (strip by default), scored against every target
// the document gives; a document's score is its best over the targets.
#include <re2/re2.h>

#include <algorithm>

#include "core/error.h"
#include "eval/evaluators.h"
#include "eval/template.h"
#include "eval/text_metrics.h"

namespace enclave::eval {
namespace {

// The document with every string quoted for RE2, so `{{field}}` in a regex
// pattern matches the field's text literally.
nlohmann::json quote_strings(const nlohmann::json& value) {
  if (value.is_string()) return re2::RE2::QuoteMeta(value.get<std::string>());
  if (value.is_structured()) {
    nlohmann::json out = value;
    for (auto& item : out) item = quote_strings(item);
    return out;
  }
  return value;
}

double score_one(const MetricSpec& m, const std::string& answer, const std::string& target,
                 const nlohmann::json& doc, std::string_view what) {
  if (m.name == "exact_match") return exact_match(answer, target, m.match);
  if (m.name == "contains") return contains_match(answer, target, m.match);
  if (m.name == "regex")
    return regex_match(
        answer, render_template(m.pattern, quote_strings(doc), std::string(what) + ": pattern"));
  if (m.name == "token_f1") return token_f1(answer, target);
  if (m.name == "rouge_l") return rouge_l(answer, target);
  if (m.name == "chrf") return chrf(answer, target);
  fail(ErrorKind::kInternal, "generate_until: no scorer for metric '{}'", m.name);
}

// The document as a DPO pair: what the model should have answered against
// what it did, in the shape the task prompts with (TRL conversational or
// plain text).
nlohmann::json mistake(const TaskRun& run, std::size_t i, const std::string& target,
                       const std::string& answer) {
  nlohmann::json pair = {{"task", run.task.name}, {"doc", i}};
  if (run.prompts.chat()) {
    nlohmann::json prompt = nlohmann::json::array();
    for (const ChatMessage& m : run.prompts.messages(i))
      prompt.push_back({{"role", m.role}, {"content", m.content}});
    auto turn = [](const std::string& text) {
      return nlohmann::json::array({{{"role", "assistant"}, {"content", text}}});
    };
    pair["prompt"] = std::move(prompt);
    pair["chosen"] = turn(target);
    pair["rejected"] = turn(answer);
  } else {
    pair["prompt"] = run.prompts.context(i);
    pair["chosen"] = run.prompts.answer_delimiter() + target;
    pair["rejected"] = run.prompts.answer_delimiter() + answer;
  }
  return pair;
}

}  // namespace

void evaluate_generate_until(const TaskRun& run, TaskResult& result) {
  // Targets first: a document that cannot render fails before any generation.
  std::vector<std::vector<std::string>> targets_of;
  for (std::size_t i = 0; i < run.docs.docs.size(); ++i) {
    targets_of.push_back(render_targets(run.task.doc_to_target, run.docs.docs[i],
                                        fmt::format("task '{}': document {}", run.task.name, i)));
  }
  auto progress = make_progress(run, run.docs.docs.size(), "docs");
  const std::vector<std::string> raws = generate_answers(run, progress.get());
  progress->finish();
  for (std::size_t i = 0; i < run.docs.docs.size(); ++i) {
    const std::string what = fmt::format("task '{}': document {}", run.task.name, i);
    const nlohmann::json& doc = run.docs.docs[i];
    const std::vector<std::string>& targets = targets_of[i];
    const std::string& raw = raws[i];
    const std::string answer = apply_filter(run.task.filter, raw);
    nlohmann::json scores = nlohmann::json::object();
    for (std::size_t k = 0; k < run.metrics.size(); ++k) {
      const MetricSpec& m = run.metrics[k];
      double best = 0;
      for (const std::string& target : targets)
        best = std::max(best, score_one(m, answer, target, doc, what));
      result.metrics[k].add(best);
      scores[m.name] = best;
    }
    if (run.options.keep_samples) {
      result.samples.push_back({{"doc", i},
                                {"prompt", run.prompts.context(i)},
                                {"response", raw},
                                {"filtered", answer},
                                {"targets", targets},
                                {"scores", scores}});
    }
    // An empty answer or one equal to the reference gives no preference to learn.
    if (run.options.keep_mistakes && scores[run.metrics.front().name].get<double>() < 1.0 &&
        !answer.empty() && answer != targets.front()) {
      result.mistakes.push_back(mistake(run, i, targets.front(), answer));
    }
  }
}

}  // namespace enclave::eval
