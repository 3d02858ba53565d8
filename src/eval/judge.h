// Judges: a second model grades the answers of the model under evaluation
// with a rubric (the "LLM as a judge" setup of MT-bench, Zheng et al. 2023).
// Single mode: the judge rates one answer on [min_score, max_score], written
// as "[[N]]". Pairwise mode: the judge compares the answer with a reference
// answer and writes "[[A]]", "[[B]]" or "[[C]]" (tie); every pair is judged
// twice with the positions swapped, and a win counts only when both orders
// agree, anything else is a tie (position bias cancels out).
// The judge is a local model (a directory or registry reference, run with
// Engine::generate, greedy) or an OpenAI-compatible server (POST
// <url>/chat/completions, temperature 0), such as `enclave serve`.
// Rubrics are templates over the document's fields plus `prompt` (the
// rendered doc_to_text), `response` (single), `response_a`/`response_b`
// (pairwise), which take precedence over document fields of the same name.
// Thread safety: a JudgeBackend is used by one thread at a time.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eval/task_spec.h"
#include "model/engine.h"
#include "store/workspace.h"

namespace enclave::eval {

class JudgeBackend {
 public:
  virtual ~JudgeBackend() = default;
  // The judge's reply to one user message. Throws Error(kIo) when a server
  // cannot be reached or answers with an error, Error(kInvalidInput) for a
  // reply that is not an OpenAI chat completion, or a prompt that does not
  // fit a local judge's context.
  virtual std::string complete(const std::string& message) = 0;
  // "model /path" or "url http://...", for records.
  virtual std::string describe() const = 0;
};

struct JudgeBackendOptions {
  store::FindOptions workspace;  // for a registry model reference
  EngineOptions engine;          // compute options for a local judge
  // Hosts a judge url may name besides loopback (--allow-judge-host): a task
  // file must not send prompts, or the secret its api_key_env names, to a
  // host the operator did not name.
  std::vector<std::string> allowed_hosts;
};

// Loads the local judge or prepares the HTTP client. Throws Error(kNotFound)
// for a missing model, Error(kInvalidInput) for a URL that is not http(s)://,
// whose host is neither loopback nor allowed, or an api_key_env variable
// that is not set.
std::unique_ptr<JudgeBackend> make_judge_backend(const JudgeSpec& spec,
                                                 const JudgeBackendOptions& options);

// The built-in rubrics (used when the task gives none).
std::string default_single_rubric(const JudgeSpec& spec);
std::string default_pairwise_rubric();

// The rating in a single-mode reply (spec.score_regex group 1, else the
// first "[[N]]", else "Rating: N"); nullopt if there is none or it lies
// outside [min_score, max_score].
std::optional<double> parse_judge_score(std::string_view reply, const JudgeSpec& spec);

enum class PairwiseVote { kA, kB, kTie, kInvalid };
// Exactly one of "[[A]]", "[[B]]", "[[C]]" in the reply; kInvalid otherwise.
PairwiseVote parse_pairwise_vote(std::string_view reply);

// The evaluated model's result from the two orders (it is A in the first
// judgement and B in the second): 1 win, 0 loss, 0.5 tie or disagreement.
// invalid is set when either judgement could not be read (then 0.5).
double pairwise_outcome(PairwiseVote model_first, PairwiseVote model_second, bool& invalid);

}  // namespace enclave::eval
