#include "eval/skill_docs.h"

#include <fmt/format.h>

#include <set>

#include "core/error.h"
#include "eval/rng.h"
#include "eval/unicode_ops.h"
#include "eval/word_lists.h"

namespace enclave::eval {
namespace {

std::string reversed(std::string_view word) {
  std::u32string cps = to_code_points(word);
  return from_code_points(std::u32string(cps.rbegin(), cps.rend()));
}

// The inputs a skill draws from, in a seeded order.
std::vector<std::string> inputs(Skill skill, Language language, std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::string> out;
  if (skill == Skill::kArithmetic) {
    std::set<std::string> seen;
    const char ops[] = {'+', '-', '*'};
    for (int attempts = 0; out.size() < n && attempts < 100000; ++attempts) {
      const char op = ops[rng.below(3)];
      std::int64_t a = op == '*' ? rng.between(2, 12) : rng.between(0, 50);
      std::int64_t b = op == '*' ? rng.between(2, 12) : rng.between(0, 50);
      if (op == '-' && b > a) std::swap(a, b);
      std::string expr = fmt::format("{} {} {}", a, op, b);
      if (seen.insert(expr).second) out.push_back(expr);
    }
  } else {
    // Uppercase needs cased letters, so the Korean task asks about English words.
    const bool hangul = language == Language::kKorean && skill != Skill::kUppercase;
    const auto& words = hangul ? korean_words() : english_words();
    std::vector<std::string> pool(words.begin(), words.end());
    for (std::size_t i = 0; i < pool.size() && i < n; ++i) {
      std::swap(pool[i], pool[i + static_cast<std::size_t>(rng.below(pool.size() - i))]);
      out.push_back(pool[i]);
    }
  }
  if (out.size() < n) {
    fail_input("skill {}: only {} distinct inputs, {} asked for", skill_name(skill), out.size(), n);
  }
  return out;
}

std::string arithmetic_answer(const std::string& expr) {
  std::int64_t a = 0;
  std::int64_t b = 0;
  char op = 0;
  std::sscanf(expr.c_str(), "%ld %c %ld", &a, &op, &b);
  return std::to_string(op == '+' ? a + b : op == '-' ? a - b : a * b);
}

nlohmann::json make_doc(Skill skill, Language language, const std::string& input) {
  const bool ko = language == Language::kKorean;
  std::string prompt;
  std::string answer;
  switch (skill) {
    case Skill::kReverse:
      prompt = ko ? "다음 단어의 글자를 거꾸로 쓰세요: " : "Reverse the letters of this word: ";
      answer = reversed(input);
      break;
    case Skill::kUppercase:
      prompt = ko ? "다음 영어 단어를 대문자로 쓰세요: " : "Write this word in uppercase: ";
      answer = to_upper(input);
      break;
    case Skill::kCountLetters:
      prompt = ko ? "다음 단어의 글자 수를 세세요: " : "Count the letters in this word: ";
      answer = std::to_string(to_code_points(input).size());
      break;
    case Skill::kArithmetic:
      prompt = ko ? "다음을 계산하세요: " : "Calculate: ";
      answer = arithmetic_answer(input);
      break;
  }
  return {{"skill", skill_name(skill)},
          {"lang", language_code(language)},
          {"input", input},
          {"prompt", prompt + input},
          {"answer", answer}};
}

}  // namespace

std::string_view skill_name(Skill skill) {
  switch (skill) {
    case Skill::kReverse:
      return "reverse";
    case Skill::kUppercase:
      return "uppercase";
    case Skill::kCountLetters:
      return "count_letters";
    case Skill::kArithmetic:
      return "arithmetic";
  }
  return "?";
}

std::string_view language_code(Language language) {
  return language == Language::kKorean ? "ko" : "en";
}

SkillSplits make_skill_docs(Skill skill, Language language, std::size_t n_train, std::size_t n_test,
                            std::uint64_t seed) {
  std::vector<std::string> all = inputs(skill, language, n_train + n_test, seed);
  SkillSplits out;
  for (std::size_t i = 0; i < all.size(); ++i) {
    (i < n_train ? out.train : out.test).push_back(make_doc(skill, language, all[i]));
  }
  return out;
}

}  // namespace enclave::eval
