#include "train/skill_eval.h"

#include <fmt/format.h>

#include "core/error.h"

namespace enclave::train {
namespace {

const Tokenizer& require_tokenizer(const Engine& engine) {
  if (engine.tokenizer() == nullptr) fail_input("skill eval: the model has no tokenizer");
  return *engine.tokenizer();
}

std::string trim(std::string s) {
  const char* space = " \t\r\n";
  s.erase(0, s.find_first_not_of(space));
  s.erase(s.find_last_not_of(space) + 1);
  return s;
}

void add(SkillScore& score, const Record& r, bool correct) {
  ++score.n;
  score.correct += correct ? 1 : 0;
  const std::string skill = r.value.contains("skill") && r.value["skill"].is_string()
                                ? r.value["skill"].get<std::string>()
                                : "all";
  auto& [c, n] = score.by_skill[skill];
  c += correct ? 1 : 0;
  ++n;
}

double completion_logp(const Engine& engine, const std::vector<TokenId>& prompt,
                       const std::vector<TokenId>& completion) {
  std::vector<TokenId> ids = prompt;
  ids.insert(ids.end(), completion.begin(), completion.end());
  std::vector<double> logps = engine.score(ids);
  double sum = 0;
  for (std::size_t i = logps.size() - completion.size(); i < logps.size(); ++i) sum += logps[i];
  return sum;
}

}  // namespace

SkillScore exact_match(const Engine& engine, const std::vector<Record>& records, int max_tokens,
                       std::vector<nlohmann::json>* mistakes) {
  ExampleBuilder builder(require_tokenizer(engine), engine.chat_template(),
                         engine.config().max_position_embeddings);
  SkillScore score;
  GenerateOptions options;
  options.max_tokens = max_tokens;
  options.sampling.temperature = 0;
  for (const Record& r : records) {
    // A chat record, or a preference pair whose chosen answer is the reference.
    nlohmann::json prompt;
    if (const auto pair = r.value.find("chosen"); pair != r.value.end()) {
      if (!pair->is_array() || pair->size() != 1 || !r.value.contains("prompt") ||
          !r.value["prompt"].is_array()) {
        fail_input("{}: expected {{\"prompt\": [turns], \"chosen\": [assistant]}}", r.where);
      }
      prompt = r.value["prompt"];
      prompt.push_back(pair->at(0));
    } else if (const auto it = r.value.find("messages"); it != r.value.end() && it->is_array()) {
      prompt = *it;
    }
    if (prompt.size() < 2 || !prompt.back().is_object() ||
        prompt.back().value("role", "") != "assistant") {
      fail_input("{}: expected {{\"messages\": [..., user, assistant]}} with the answer last",
                 r.where);
    }
    const std::string answer = prompt.back().value("content", "");
    prompt.erase(prompt.size() - 1);
    GenerateResult result = engine.generate(builder.prompt_ids(prompt, r.where), options, {});
    const std::string given = trim(result.text);
    const bool correct = given == trim(answer);
    add(score, r, correct);
    if (mistakes != nullptr && !correct && !given.empty()) {
      nlohmann::json pair = {
          {"prompt", prompt},
          {"chosen", nlohmann::json::array({{{"role", "assistant"}, {"content", answer}}})},
          {"rejected", nlohmann::json::array({{{"role", "assistant"}, {"content", given}}})}};
      for (const char* key : {"skill", "language"}) {
        if (r.value.contains(key)) pair[key] = r.value[key];
      }
      mistakes->push_back(std::move(pair));
    }
  }
  return score;
}

SkillScore preference_accuracy(const Engine& engine, const std::vector<Record>& records) {
  ExampleBuilder builder(require_tokenizer(engine), engine.chat_template(),
                         engine.config().max_position_embeddings);
  std::vector<PreferenceExample> pairs = builder.preference(records);
  SkillScore score;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const double chosen = completion_logp(engine, pairs[i].prompt, pairs[i].chosen);
    const double rejected = completion_logp(engine, pairs[i].prompt, pairs[i].rejected);
    add(score, records[i], chosen > rejected);
  }
  return score;
}

std::string format_score(const std::string& what, const SkillScore& score) {
  std::string out =
      fmt::format("{} {:.3f} ({}/{})", what, score.accuracy(), score.correct, score.n);
  if (score.by_skill.size() > 1) {
    out += " |";
    for (const auto& [skill, cn] : score.by_skill) {
      out += fmt::format(" {} {:.2f}", skill,
                         cn.second > 0 ? static_cast<double>(cn.first) / cn.second : 0.0);
    }
  }
  return out;
}

}  // namespace enclave::train
