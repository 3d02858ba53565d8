// Scores a model on held-out skill data (skill_tasks.h), for the learning
// demonstration: exact match of greedy generations against the answer of
// chat records ({"messages": [..., user, assistant]}), and preference
// accuracy on pairs: the share where log P(chosen | prompt) > log
// P(rejected | prompt) under the model (the sum over completion tokens).
// Both are broken down by the records' "skill" field when present.
// Torch-free (through Engine). Thread safety: uses the engine from one thread.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/engine.h"
#include "train/dataset.h"

namespace enclave::train {

struct SkillScore {
  int n = 0;
  int correct = 0;
  std::map<std::string, std::pair<int, int>> by_skill;  // skill -> (correct, n)
  double accuracy() const { return n > 0 ? static_cast<double>(correct) / n : 0.0; }
};

// Records whose last message is the assistant's answer (or preference pairs,
// whose single chosen turn is taken as the reference answer). Throws
// Error(kInvalidInput) naming a record of another shape, or a model without
// tokenizer or chat template. With mistakes, each wrong (non-empty) answer
// is appended as an on-policy preference pair: {"prompt": [turns before the
// answer], "chosen": [the reference answer], "rejected": [the model's
// answer]}, plus the record's "skill" and "language", the data a reviewer's
// corrections give DPO.
SkillScore exact_match(const Engine& engine, const std::vector<Record>& records,
                       int max_tokens = 24, std::vector<nlohmann::json>* mistakes = nullptr);
// {"prompt", "chosen", "rejected"} records.
SkillScore preference_accuracy(const Engine& engine, const std::vector<Record>& records);

// "exact match 0.62 (124/200) | arithmetic 0.80, count 0.70, ..." style summary.
std::string format_score(const std::string& what, const SkillScore& score);

}  // namespace enclave::train
