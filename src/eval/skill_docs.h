// Documents for the skills of the training demo: reverse a word, write it in
// uppercase, count its letters, and simple arithmetic, in English and
// Korean. Each document is {"skill", "lang", "input", "prompt", "answer"};
// the same (skill, language, seed) always gives the same documents, and the
// "train" and "test" splits never share an input.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

namespace enclave::eval {

enum class Skill { kReverse, kUppercase, kCountLetters, kArithmetic };
enum class Language { kEnglish, kKorean };

std::string_view skill_name(Skill skill);  // "reverse", "uppercase", "count_letters", "arithmetic"
std::string_view language_code(Language language);  // "en", "ko"

struct SkillSplits {
  std::vector<nlohmann::json> train;  // few-shot pool
  std::vector<nlohmann::json> test;
};

// n_train + n_test documents with distinct inputs. Throws
// Error(kInvalidInput) if the skill has fewer distinct inputs than asked for.
SkillSplits make_skill_docs(Skill skill, Language language, std::size_t n_train, std::size_t n_test,
                            std::uint64_t seed);

}  // namespace enclave::eval
