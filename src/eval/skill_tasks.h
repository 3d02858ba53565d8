// The skill tasks: short instruction-following problems with one exact
// answer, in English and Korean, generated from a seed. One generator serves
// both the built-in `skills` suite (builtin_tasks.h) and the training data of
// the learning demonstration (`enclave train tasks`, scripts/learning_demo.sh),
// so the prompts a model is trained on and the prompts it is scored on are
// written the same way, and the suite's items never appear in training data:
//   reverse    "Reverse: c a t" -> "t a c"        "거꾸로: 가 나 다" -> "다 나 가"
//   uppercase  "Uppercase: c a t" -> "C A T"      (English only)
//   count      "Count the letters: c a t" -> "3"  "글자 수: 가 나 다" -> "3"
//   arithmetic "What is 3 + 5?" -> "8"            "3 더하기 5는?" -> "8"
// Letters are spaced so each is its own token, which keeps the tasks about
// the skill rather than about the tokenizer's merges. Each task also has a
// plausible wrong answer (an off-by-one count or sum, the unreversed order,
// one letter left lowercase) for preference pairs, and a difficulty (string
// length, or the size of the numbers) for sDPO's field split.
//
// An item as a document (suite data, dpo.jsonl) is a TRL preference record:
//   {"prompt": [{"role": "user", "content": P}], "chosen": [{"role":
//    "assistant", "content": A}], "rejected": [...], "skill", "language",
//    "difficulty"}
// Thread safety: stateless functions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "eval/task_spec.h"

namespace enclave::eval {

struct SkillTask {
  std::string skill;     // "reverse", "uppercase", "count", "arithmetic"
  std::string language;  // "en", "ko"
  std::string prompt;
  std::string answer;
  std::string wrong;
  int difficulty = 1;
};

// The (skill, language) kinds, in suite order: reverse_en, reverse_ko,
// uppercase_en, count_en, count_ko, arithmetic_en, arithmetic_ko.
struct SkillKind {
  std::string skill;
  std::string language;
};
const std::vector<SkillKind>& skill_kinds();
// "skills.<skill>_<language>": the suite's task name for the kind.
std::string skill_task_name(const std::string& skill, const std::string& language);

// n tasks drawn uniformly over the kinds; no two share a prompt and none has
// a prompt in exclude. Throws Error(kInvalidInput) when n exceeds the
// distinct prompts available.
std::vector<SkillTask> generate_skill_tasks(std::size_t n, std::uint64_t seed,
                                            const std::set<std::string>& exclude = {});

// The items of the built-in `skills` suite: kSkillSuitePerKind per kind,
// kind after kind in skill_kinds() order, from a fixed seed (the same in
// every build).
inline constexpr std::size_t kSkillSuitePerKind = 40;
std::vector<SkillTask> skill_suite_items();

// The item as a document (the TRL preference record above).
nlohmann::json skill_document(const SkillTask& task);

// A generation task over skill documents as the suite scores them: the
// prompt as the user's turn through the model's chat template, greedy, exact
// match (then chrF) against the chosen answer. docs empty: the documents are
// read from dataset_path.
TaskSpec skill_generation_task(std::string name, std::vector<nlohmann::json> docs,
                               const std::filesystem::path& dataset_path = {});

struct SkillDataOptions {
  std::uint64_t seed = 1;
  std::size_t n_pretrain = 3000;  // tasks written as plain text ("Reverse: ...\nAnswer: ...")
  std::size_t n_sft = 2000;       // chat records
  std::size_t n_eval = 200;       // held-out chat records: suite items (exact match)
  std::size_t n_dpo = 1000;       // preference pairs
  std::size_t n_dpo_eval = 80;    // held-out pairs: suite items after the n_eval ones
};

struct SkillDataFiles {
  std::filesystem::path pretrain, sft, sft_eval, dpo, dpo_eval, dpo_prompts;
};

// Writes into dir (created):
//   pretrain.jsonl  {"text"}: several solved tasks per document
//   sft.jsonl, sft_eval.jsonl  {"messages", "skill", "language"}
//   dpo.jsonl, dpo_eval.jsonl  skill documents (TRL pairs with the plausible
//                              wrong answer as rejected)
//   dpo_prompts.yaml  a task over dpo.jsonl scored as the suite scores its
//                     items, for `eval run --mistakes` (on-policy pairs)
// The held-out files take the suite's items (sft_eval first, dpo_eval after),
// and no training file holds a suite item, whatever the seed. Throws
// Error(kInvalidInput) when n_eval + n_dpo_eval exceeds the suite, Error(kIo)
// on write failure.
SkillDataFiles write_skill_datasets(const std::filesystem::path& dir,
                                    const SkillDataOptions& options);

}  // namespace enclave::eval
