#include "eval/general_docs.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>

#include "eval/rng.h"
#include "eval/word_lists.h"

namespace enclave::eval {
namespace {

const std::vector<std::string> kDaysEn = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                          "Friday", "Saturday", "Sunday"};
const std::vector<std::string> kDaysKo = {"월요일", "화요일", "수요일", "목요일",
                                          "금요일", "토요일", "일요일"};
const std::vector<std::string> kMonthsEn = {"January",   "February", "March",    "April",
                                            "May",       "June",     "July",     "August",
                                            "September", "October",  "November", "December"};

template <typename T>
const T& pick(Rng& rng, const std::vector<T>& items) {
  return items[static_cast<std::size_t>(rng.below(items.size()))];
}

// correct plus distractors, shuffled; returns the document.
nlohmann::json choice_doc(Rng& rng, const std::string& question, const std::string& correct,
                          std::vector<std::string> distractors) {
  std::vector<std::string> choices = {correct};
  for (std::string& d : distractors) {
    if (std::find(choices.begin(), choices.end(), d) == choices.end())
      choices.push_back(std::move(d));
  }
  for (std::size_t i = choices.size(); i > 1; --i) std::swap(choices[i - 1], choices[rng.below(i)]);
  const auto answer = static_cast<std::size_t>(std::find(choices.begin(), choices.end(), correct) -
                                               choices.begin());
  return {{"question", question}, {"choices", choices}, {"answer", answer}};
}

// Three other items of a cycle, not the correct next one.
std::vector<std::string> others(Rng& rng, const std::vector<std::string>& cycle,
                                std::size_t correct) {
  std::vector<std::string> out;
  while (out.size() < 3) {
    const auto i = static_cast<std::size_t>(rng.below(cycle.size()));
    if (i != correct && std::find(out.begin(), out.end(), cycle[i]) == out.end())
      out.push_back(cycle[i]);
  }
  return out;
}

}  // namespace

std::string_view language_code(Language language) {
  return language == Language::kKorean ? "ko" : "en";
}

std::vector<nlohmann::json> make_sequence_docs(Language language, std::size_t n,
                                               std::uint64_t seed) {
  Rng rng(seed);
  const bool ko = language == Language::kKorean;
  std::vector<std::string> months_ko;
  for (int m = 1; m <= 12; ++m) months_ko.push_back(fmt::format("{}월", m));
  std::vector<nlohmann::json> docs;
  for (std::size_t k = 0; k < n; ++k) {
    switch (k % 3) {
      case 0: {
        const auto& days = ko ? kDaysKo : kDaysEn;
        const std::size_t i = rng.below(days.size());
        const std::size_t next = (i + 1) % days.size();
        const std::string q = ko ? fmt::format("{} 다음은 무슨 요일입니까?", days[i])
                                 : fmt::format("Which day comes after {}?", days[i]);
        docs.push_back(choice_doc(rng, q, days[next], others(rng, days, next)));
        break;
      }
      case 1: {
        const auto& months = ko ? months_ko : kMonthsEn;
        const std::size_t i = rng.below(months.size());
        const std::size_t next = (i + 1) % months.size();
        const std::string q = ko ? fmt::format("{} 다음은 몇 월입니까?", months[i])
                                 : fmt::format("Which month comes after {}?", months[i]);
        docs.push_back(choice_doc(rng, q, months[next], others(rng, months, next)));
        break;
      }
      default: {
        const std::int64_t x = rng.between(2, 97);
        const std::string q = ko ? fmt::format("{} 다음의 수는 무엇입니까?", x)
                                 : fmt::format("Which number comes after {}?", x);
        docs.push_back(
            choice_doc(rng, q, std::to_string(x + 1),
                       {std::to_string(x - 1), std::to_string(x + 2), std::to_string(x + 10)}));
        break;
      }
    }
  }
  return docs;
}

std::vector<nlohmann::json> make_compare_docs(Language language, std::size_t n,
                                              std::uint64_t seed) {
  Rng rng(seed);
  std::vector<nlohmann::json> docs;
  while (docs.size() < n) {
    const std::int64_t a = rng.between(1, 99);
    const std::int64_t b = rng.between(1, 99);
    if (a == b) continue;
    const std::string q = language == Language::kKorean
                              ? fmt::format("더 큰 수를 고르세요: {}, {}", a, b)
                              : fmt::format("Which number is larger: {} or {}?", a, b);
    docs.push_back({{"question", q},
                    {"choices", {std::to_string(a), std::to_string(b)}},
                    {"answer", a > b ? 0 : 1}});
  }
  return docs;
}

std::vector<nlohmann::json> make_copy_docs(Language language, std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  const bool ko = language == Language::kKorean;
  std::vector<nlohmann::json> docs;
  for (std::size_t k = 0; k < n; ++k) {
    const std::string word(pick(rng, ko ? korean_words() : english_words()));
    docs.push_back(
        {{"prompt", (ko ? "다음 단어를 그대로 쓰세요: " : "Repeat this word exactly: ") + word},
         {"answer", word}});
  }
  return docs;
}

std::vector<nlohmann::json> make_text_docs(Language language, std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<nlohmann::json> docs;
  if (language == Language::kKorean) {
    // Names and objects end in a vowel, so the particles 는 and 를 always fit.
    const std::vector<std::string> names = {"민지", "하나", "지호", "수아",
                                            "유나", "도하", "지우", "서아"};
    const std::vector<std::string> times = {"월요일 아침에", "오후에", "주말에", "점심 전에",
                                            "저녁에"};
    const std::vector<std::string> objects = {"보고서", "편지", "커피", "사과",
                                              "기차표", "노래", "자료"};
    const std::vector<std::string> verbs = {"읽었습니다", "보냈습니다", "준비했습니다", "샀습니다",
                                            "정리했습니다"};
    for (std::size_t k = 0; k < n; ++k) {
      std::string text;
      for (int s = 0; s < 3; ++s) {
        text += fmt::format("{}{}는 {} {}를 {}.", s ? " " : "", pick(rng, names), pick(rng, times),
                            pick(rng, objects), pick(rng, verbs));
      }
      docs.push_back({{"text", text}});
    }
    return docs;
  }
  const std::vector<std::string> names = {"Mina", "Joon", "Sara", "Tom",
                                          "Hana", "Leo",  "Yuna", "Alex"};
  const std::vector<std::string> verbs = {"checked", "sent", "prepared",
                                          "bought",  "read", "printed"};
  const std::vector<std::string> objects = {"the report",  "a letter",  "the coffee",
                                            "two tickets", "the notes", "a small gift"};
  const std::vector<std::string> times = {"on Monday morning", "after lunch", "at the weekend",
                                          "before noon", "in the evening"};
  for (std::size_t k = 0; k < n; ++k) {
    std::string text;
    for (int s = 0; s < 3; ++s) {
      text += fmt::format("{}{} {} {} {}.", s ? " " : "", pick(rng, names), pick(rng, verbs),
                          pick(rng, objects), pick(rng, times));
    }
    docs.push_back({{"text", text}});
  }
  return docs;
}

std::vector<nlohmann::json> make_instruction_docs(std::size_t n, std::uint64_t seed) {
  struct Template {
    std::string prompt;  // {} is the topic
    std::vector<std::string> ids;
    nlohmann::json kwargs;
    bool korean = false;
  };
  using J = nlohmann::json;
  const std::vector<Template> templates = {
      {"Write one sentence about {} in all lowercase letters.",
       {"change_case:english_lowercase"},
       J::array({J::object()})},
      {"WRITE A SHORT GREETING ABOUT {} IN CAPITAL LETTERS ONLY.",
       {"change_case:english_capital"},
       J::array({J::object()})},
      {"Describe {} in at least 8 words without using any commas.",
       {"length_constraints:number_words", "punctuation:no_comma"},
       J::array({{{"num_words", 8}, {"relation", "at least"}}, J::object()})},
      {"Describe {} in fewer than 60 characters.",
       {"length_constraints:number_characters"},
       J::array({{{"num_chars", 60}, {"relation", "less than"}}})},
      {"Write a JSON object with a \"topic\" key set to {}.",
       {"detectable_format:json_format"},
       J::array({J::object()})},
      {"List exactly two facts about {} as bullet points starting with \"* \".",
       {"detectable_format:number_bullet_lists"},
       J::array({{{"num_bullets", 2}}})},
      {"Write a note about {} and end it with the phrase \"Thank you.\"",
       {"startend:end_checker"},
       J::array({{{"end_phrase", "Thank you."}}})},
      {"Start your answer with \"Dear team\" and mention {}.",
       {"startend:start_checker"},
       J::array({{{"start_phrase", "Dear team"}}})},
      {"Write about {} and include the keywords \"model\" and \"data\".",
       {"keywords:existence"},
       J::array({{{"keywords", {"model", "data"}}}})},
      {"Explain {} without using the word \"cloud\".",
       {"keywords:forbidden_words"},
       J::array({{{"forbidden_words", {"cloud"}}}})},
      {"Write a template message about {} with at least two placeholders such as [name].",
       {"detectable_content:number_placeholders"},
       J::array({{{"num_placeholders", 2}}})},
      {"Write two sentences about {}.",
       {"length_constraints:number_sentences"},
       J::array({{{"num_sentences", 2}, {"relation", "at least"}}})},
      {"{}에 대해 한국어로 한 문장을 쓰세요.",
       {"language:response_language"},
       J::array({{{"language", "ko"}}}),
       true},
      {"{}에 대해 쉼표 없이 한국어로 설명하세요.",
       {"language:response_language", "punctuation:no_comma"},
       J::array({{{"language", "ko"}}, J::object()}),
       true},
      {"{}에 대해 세 문장 미만으로 쓰세요.",
       {"length_constraints:number_sentences"},
       J::array({{{"num_sentences", 3}, {"relation", "less than"}}}),
       true},
      {"{}에 대해 쓰고 \"감사합니다.\"로 끝내세요.",
       {"startend:end_checker"},
       J::array({{{"end_phrase", "감사합니다."}}}),
       true},
  };
  const std::vector<std::string> topics_en = {"the sea", "a cat",    "winter", "the city",
                                              "music",   "a garden", "trains", "coffee"};
  const std::vector<std::string> topics_ko = {"바다", "고양이", "겨울", "도시",
                                              "음악", "정원",   "기차", "커피"};
  Rng rng(seed);
  std::vector<nlohmann::json> docs;
  for (std::size_t k = 0; k < n; ++k) {
    const Template& t = templates[k % templates.size()];
    const std::string& topic = pick(rng, t.korean ? topics_ko : topics_en);
    docs.push_back({{"prompt", fmt::format(fmt::runtime(t.prompt), topic)},
                    {"instruction_id_list", t.ids},
                    {"kwargs", t.kwargs}});
  }
  return docs;
}

}  // namespace enclave::eval
