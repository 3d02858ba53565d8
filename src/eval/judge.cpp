#include "eval/judge.h"

#include <re2/re2.h>

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "core/error.h"
#include "store/registry.h"

namespace enclave::eval {
namespace {

class EngineJudge : public JudgeBackend {
 public:
  EngineJudge(const JudgeSpec& spec, const JudgeBackendOptions& options)
      : dir_(store::resolve_model_ref(spec.model, {.find = options.workspace})),
        engine_(Engine::load(dir_, options.engine)),
        max_tokens_(spec.max_tokens) {
    if (engine_->tokenizer() == nullptr) {
      fail(ErrorKind::kNotFound, "judge model {}: no tokenizer.json or tokenizer.model",
           dir_.string());
    }
  }

  std::string complete(const std::string& message) override {
    std::vector<TokenId> prompt;
    if (engine_->chat_template()) {
      const std::string text = render_chat(*engine_->chat_template(), {{"user", message}}, true);
      prompt = engine_->tokenizer()->encode(text, /*add_special=*/false, /*parse_special=*/true);
    } else {
      prompt = engine_->tokenizer()->encode(message, /*add_special=*/true, /*parse_special=*/false);
    }
    const std::int64_t room = engine_->config().max_position_embeddings - max_tokens_;
    if (static_cast<std::int64_t>(prompt.size()) > room) {
      fail_input(
          "judge model {}: the rubric prompt has {} tokens; with max_tokens {} it needs more than "
          "the "
          "context of {}",
          dir_.string(), prompt.size(), max_tokens_, engine_->config().max_position_embeddings);
    }
    GenerateOptions options;
    options.max_tokens = max_tokens_;
    options.sampling.temperature = 0.0;
    return engine_->generate(prompt, options, {}).text;
  }

  std::string describe() const override { return "model " + dir_.string(); }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<Engine> engine_;
  int max_tokens_;
};

std::optional<double> to_number(const std::string& text) {
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

// Defined in judge_http.cpp (keeps cpp-httplib out of this file).
std::unique_ptr<JudgeBackend> make_http_judge(const JudgeSpec& spec,
                                              const std::vector<std::string>& allowed_hosts);

std::unique_ptr<JudgeBackend> make_judge_backend(const JudgeSpec& spec,
                                                 const JudgeBackendOptions& options) {
  if (!spec.url.empty()) return make_http_judge(spec, options.allowed_hosts);
  return std::make_unique<EngineJudge>(spec, options);
}

std::string default_single_rubric(const JudgeSpec& spec) {
  return fmt::format(
      "Act as an impartial judge and rate the quality of the assistant's answer to the question "
      "below. "
      "Consider correctness, helpfulness, relevance and level of detail. Explain briefly, then "
      "give your rating "
      "from {} to {} in exactly this format: \"Rating: [[{}]]\".\n\n"
      "[Question]\n{{{{prompt}}}}\n\n[The Start of the Assistant's Answer]\n{{{{response}}}}\n"
      "[The End of the Assistant's Answer]",
      spec.min_score, spec.max_score, std::round((spec.min_score + spec.max_score) / 2));
}

std::string default_pairwise_rubric() {
  return "Act as an impartial judge and compare the two assistants' answers to the question below. "
         "Do not let "
         "the order of the answers, their length or the assistants' names influence you. Explain "
         "briefly, then "
         "give your verdict in exactly this format: \"[[A]]\" if assistant A is better, \"[[B]]\" "
         "if assistant B "
         "is better, \"[[C]]\" for a tie.\n\n"
         "[Question]\n{{prompt}}\n\n"
         "[The Start of Assistant A's Answer]\n{{response_a}}\n[The End of Assistant A's "
         "Answer]\n\n"
         "[The Start of Assistant B's Answer]\n{{response_b}}\n[The End of Assistant B's Answer]";
}

std::optional<double> parse_judge_score(std::string_view reply, const JudgeSpec& spec) {
  re2::StringPiece input(reply.data(), reply.size());
  std::string captured;
  bool found = false;
  if (!spec.score_regex.empty()) {
    found = re2::RE2::PartialMatch(input, re2::RE2(spec.score_regex), &captured);
  } else {
    static const re2::RE2 brackets(R"(\[\[\s*(-?\d+(?:\.\d+)?)\s*\]\])");
    static const re2::RE2 rating(R"((?i)rating\s*:?\s*(-?\d+(?:\.\d+)?))");
    found = re2::RE2::PartialMatch(input, brackets, &captured) ||
            re2::RE2::PartialMatch(input, rating, &captured);
  }
  if (!found) return std::nullopt;
  std::optional<double> value = to_number(captured);
  if (!value || *value < spec.min_score || *value > spec.max_score) return std::nullopt;
  return value;
}

PairwiseVote parse_pairwise_vote(std::string_view reply) {
  const bool a = reply.find("[[A]]") != std::string_view::npos;
  const bool b = reply.find("[[B]]") != std::string_view::npos;
  const bool c = reply.find("[[C]]") != std::string_view::npos;
  if (a + b + c != 1) return PairwiseVote::kInvalid;
  return a ? PairwiseVote::kA : b ? PairwiseVote::kB : PairwiseVote::kTie;
}

double pairwise_outcome(PairwiseVote model_first, PairwiseVote model_second, bool& invalid) {
  invalid = model_first == PairwiseVote::kInvalid || model_second == PairwiseVote::kInvalid;
  if (invalid) return 0.5;
  auto value = [](PairwiseVote vote, PairwiseVote model_wins) {
    if (vote == PairwiseVote::kTie) return 0.5;
    return vote == model_wins ? 1.0 : 0.0;
  };
  const double first = value(model_first, PairwiseVote::kA);
  const double second = value(model_second, PairwiseVote::kB);
  return first == second ? first : 0.5;
}

}  // namespace enclave::eval
