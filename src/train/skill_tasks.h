// Synthetic skill tasks for the learning demonstration (scripts/learning_demo.sh):
// short instruction-following problems with one exact answer, in English
// and Korean, generated from a seed so every run sees the same data:
//   reverse    "Reverse: c a t" -> "t a c"        "거꾸로: 가 나 다" -> "다 나 가"
//   uppercase  "Uppercase: c a t" -> "C A T"      (English only)
//   count      "Count the letters: c a t" -> "3"  "글자 수: 가 나 다" -> "3"
//   arithmetic "What is 3 + 5?" -> "8"            "3 더하기 5는?" -> "8"
// Letters are spaced so each is its own token, which keeps the tasks about
// the skill rather than about the tokenizer's merges. Each task also has a
// plausible wrong answer (an off-by-one count or sum, the unreversed order,
// one letter left lowercase) for preference pairs, and a difficulty (string
// length, or the size of the numbers) for sDPO's field split.
// Torch-free. Thread safety: stateless functions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace enclave::train {

struct SkillTask {
  std::string skill;     // "reverse", "uppercase", "count", "arithmetic"
  std::string language;  // "en", "ko"
  std::string prompt;
  std::string answer;
  std::string wrong;
  int difficulty = 1;
};

// n tasks drawn uniformly over skills and languages; no two share a prompt.
// Throws Error(kInvalidInput) when n exceeds the distinct prompts available.
std::vector<SkillTask> generate_skill_tasks(std::size_t n, std::uint64_t seed);

struct SkillDataOptions {
  std::uint64_t seed = 1;
  std::size_t n_pretrain = 3000;  // tasks written as plain text ("Reverse: ...\nAnswer: ...")
  std::size_t n_sft = 2000;       // chat records
  std::size_t n_eval = 200;       // held-out chat records (exact match)
  std::size_t n_dpo = 1000;       // preference pairs
  std::size_t n_dpo_eval = 200;   // held-out pairs (preference accuracy)
};

struct SkillDataFiles {
  std::filesystem::path pretrain, sft, sft_eval, dpo, dpo_eval;
};

// Writes pretrain.jsonl ({"text"}: several solved tasks per document),
// sft.jsonl and sft_eval.jsonl ({"messages"}), dpo.jsonl and dpo_eval.jsonl
// ({"prompt": [user], "chosen": [assistant], "rejected": [assistant],
// "skill", "difficulty"}) into dir (created). Held-out prompts appear in no
// training file. Throws Error(kIo) on write failure.
SkillDataFiles write_skill_datasets(const std::filesystem::path& dir,
                                    const SkillDataOptions& options);

}  // namespace enclave::train
