#include "eval/skill_tasks.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "core/error.h"
#include "core/file.h"
#include "eval/yaml_writer.h"

namespace enclave::eval {
namespace {

using nlohmann::json;

const char* const kKoreanSyllables[] = {"가", "나", "다", "라", "마", "바", "사",
                                        "아", "자", "차", "카", "타", "파", "하"};

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  SkillTask next() { return make(static_cast<std::size_t>(uniform(0, 6))); }

  // One task of skill_kinds()[kind].
  SkillTask make(std::size_t kind) {
    switch (kind) {
      case 0:
        return reverse_en();
      case 1:
        return reverse_ko();
      case 2:
        return uppercase_en();
      case 3:
        return count_en();
      case 4:
        return count_ko();
      case 5:
        return arithmetic(/*korean=*/false);
      default:
        return arithmetic(/*korean=*/true);
    }
  }

 private:
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  std::vector<std::string> letters(bool korean) {
    const int n = uniform(2, 4);
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
      out.push_back(korean ? kKoreanSyllables[uniform(0, 13)]
                           : std::string(1, static_cast<char>('a' + uniform(0, 25))));
    }
    return out;
  }

  static std::string spaced(const std::vector<std::string>& items) {
    return fmt::format("{}", fmt::join(items, " "));
  }

  // The reversal, and a wrong answer that differs from it.
  std::pair<std::string, std::string> reversal(std::vector<std::string> items) {
    std::vector<std::string> reversed(items.rbegin(), items.rend());
    std::vector<std::string> wrong = items;
    if (wrong == reversed) {  // a palindrome: swap the first two instead
      std::swap(wrong[0], wrong[1]);
      if (wrong == reversed) wrong.push_back(wrong.back());
    }
    return {spaced(reversed), spaced(wrong)};
  }

  SkillTask reverse_en() {
    std::vector<std::string> l = letters(false);
    auto [answer, wrong] = reversal(l);
    return {"reverse", "en",  "Reverse: " + spaced(l),
            answer,    wrong, static_cast<int>(l.size()) - 1};
  }

  SkillTask reverse_ko() {
    std::vector<std::string> l = letters(true);
    auto [answer, wrong] = reversal(l);
    return {"reverse", "ko", "거꾸로: " + spaced(l), answer, wrong, static_cast<int>(l.size()) - 1};
  }

  SkillTask uppercase_en() {
    std::vector<std::string> l = letters(false);
    std::vector<std::string> upper = l;
    for (std::string& s : upper) s[0] = static_cast<char>(s[0] - 'a' + 'A');
    std::vector<std::string> wrong = upper;
    wrong[static_cast<std::size_t>(uniform(0, static_cast<int>(l.size()) - 1))] =
        l[0] == "x" ? "y" : "x";
    if (wrong == upper) wrong.back() = l.back();
    return {"uppercase",   "en",          "Uppercase: " + spaced(l),
            spaced(upper), spaced(wrong), static_cast<int>(l.size()) - 1};
  }

  std::string off_by_one(int value) {
    return std::to_string(value == 0 || uniform(0, 1) == 1 ? value + 1 : value - 1);
  }

  SkillTask count_en() {
    std::vector<std::string> l = letters(false);
    const int n = static_cast<int>(l.size());
    return {"count",           "en",          "Count the letters: " + spaced(l),
            std::to_string(n), off_by_one(n), n - 1};
  }

  SkillTask count_ko() {
    std::vector<std::string> l = letters(true);
    const int n = static_cast<int>(l.size());
    return {"count", "ko", "글자 수: " + spaced(l), std::to_string(n), off_by_one(n), n - 1};
  }

  SkillTask arithmetic(bool korean) {
    const bool add = uniform(0, 1) == 1;
    int a = uniform(0, 9), b = uniform(0, 9);
    if (!add && b > a) std::swap(a, b);
    const int value = add ? a + b : a - b;
    std::string prompt = korean ? fmt::format("{} {} {}는?", a, add ? "더하기" : "빼기", b)
                                : fmt::format("What is {} {} {}?", a, add ? '+' : '-', b);
    return {"arithmetic",          korean ? "ko" : "en", prompt,
            std::to_string(value), off_by_one(value),    value >= 10 ? 2 : 1};
  }

  std::mt19937_64 rng_;
};

// Fixed: the suite's items are the same in every build, and training data
// excludes exactly them.
constexpr std::uint64_t kSuiteSeed = 20240601;

json user(const std::string& text) { return json::array({{{"role", "user"}, {"content", text}}}); }
json assistant(const std::string& text) {
  return json::array({{{"role", "assistant"}, {"content", text}}});
}

void write_records(const std::filesystem::path& path, const std::vector<json>& records) {
  std::string text;
  for (const json& r : records) text += r.dump() + "\n";
  write_file_atomic(path, text);
}

// The suite's items one kind at a time in turn, so any prefix covers every kind.
std::vector<SkillTask> interleaved(const std::vector<SkillTask>& items) {
  const std::size_t n_kinds = skill_kinds().size();
  std::vector<SkillTask> out;
  for (std::size_t j = 0; j < kSkillSuitePerKind; ++j) {
    for (std::size_t k = 0; k < n_kinds; ++k) out.push_back(items[k * kSkillSuitePerKind + j]);
  }
  return out;
}

}  // namespace

const std::vector<SkillKind>& skill_kinds() {
  static const std::vector<SkillKind> kinds = {
      {"reverse", "en"}, {"reverse", "ko"},    {"uppercase", "en"},  {"count", "en"},
      {"count", "ko"},   {"arithmetic", "en"}, {"arithmetic", "ko"},
  };
  return kinds;
}

std::string skill_task_name(const std::string& skill, const std::string& language) {
  return "skills." + skill + "_" + language;
}

std::vector<SkillTask> generate_skill_tasks(std::size_t n, std::uint64_t seed,
                                            const std::set<std::string>& exclude) {
  Generator gen(seed);
  std::vector<SkillTask> out;
  std::set<std::string> seen = exclude;
  // Bounded so an impossible n fails instead of spinning.
  for (std::size_t tries = 0; out.size() < n && tries < 50 * n + 1000; ++tries) {
    SkillTask t = gen.next();
    if (seen.insert(t.prompt).second) out.push_back(std::move(t));
  }
  if (out.size() < n)
    fail_input("skill tasks: only {} distinct prompts found, {} requested", out.size(), n);
  return out;
}

std::vector<SkillTask> skill_suite_items() {
  Generator gen(kSuiteSeed);
  std::vector<SkillTask> out;
  std::set<std::string> seen;
  for (std::size_t kind = 0; kind < skill_kinds().size(); ++kind) {
    std::size_t n = 0;
    // Every kind has far more than kSkillSuitePerKind distinct prompts (the
    // fewest, arithmetic, has 155), so the bound is never reached.
    for (int tries = 0; n < kSkillSuitePerKind && tries < 100000; ++tries) {
      SkillTask t = gen.make(kind);
      if (!seen.insert(t.prompt).second) continue;
      out.push_back(std::move(t));
      ++n;
    }
    ENCLAVE_CHECK(n == kSkillSuitePerKind);
  }
  return out;
}

json skill_document(const SkillTask& t) {
  return json{{"prompt", user(t.prompt)},       {"chosen", assistant(t.answer)},
              {"rejected", assistant(t.wrong)}, {"skill", t.skill},
              {"language", t.language},         {"difficulty", t.difficulty}};
}

TaskSpec skill_generation_task(std::string name, std::vector<json> docs,
                               const std::filesystem::path& dataset_path) {
  TaskSpec t;
  t.name = std::move(name);
  t.output_type = OutputType::kGenerateUntil;
  t.dataset.docs = std::move(docs);
  t.dataset.path = dataset_path;
  t.source = t.dataset.docs.empty() ? dataset_path.string() : "builtin";
  // The chat turn the demo's SFT data trains, and the answer of its DPO pairs.
  t.chat_template = true;
  t.doc_to_text = "{{prompt[0].content}}";
  t.doc_to_target = "{{chosen[0].content}}";
  t.generation.until = {"\n"};
  t.generation.max_gen_toks = 24;
  t.metrics = {{.name = "exact_match"}, {.name = "chrf"}};
  return t;
}

SkillDataFiles write_skill_datasets(const std::filesystem::path& dir, const SkillDataOptions& o) {
  const std::vector<SkillTask> suite = skill_suite_items();
  if (o.n_eval + o.n_dpo_eval > suite.size()) {
    fail_input("skill tasks: n_eval {} + n_dpo_eval {} exceed the {} items of the skills suite",
               o.n_eval, o.n_dpo_eval, suite.size());
  }
  std::set<std::string> held_out_prompts;
  for (const SkillTask& t : suite) held_out_prompts.insert(t.prompt);
  const std::vector<SkillTask> held_out = interleaved(suite);
  std::vector<SkillTask> train =
      generate_skill_tasks(std::max({o.n_pretrain, o.n_sft, o.n_dpo}), o.seed, held_out_prompts);
  std::mt19937_64 rng(o.seed + 1);
  auto sample = [&](std::size_t n) {
    std::shuffle(train.begin(), train.end(), rng);
    return std::vector<SkillTask>(
        train.begin(), train.begin() + static_cast<std::ptrdiff_t>(std::min(n, train.size())));
  };

  std::filesystem::create_directories(dir);
  SkillDataFiles files{dir / "pretrain.jsonl", dir / "sft.jsonl",      dir / "sft_eval.jsonl",
                       dir / "dpo.jsonl",      dir / "dpo_eval.jsonl", dir / "dpo_prompts.yaml"};
  std::vector<json> docs;
  std::string doc;
  int in_doc = 0;
  for (const SkillTask& t : sample(o.n_pretrain)) {
    doc += t.prompt + "\nAnswer: " + t.answer + "\n\n";
    if (++in_doc == 8) {
      docs.push_back({{"text", doc}});
      doc.clear();
      in_doc = 0;
    }
  }
  if (!doc.empty()) docs.push_back({{"text", doc}});
  write_records(files.pretrain, docs);

  auto chat = [](const SkillTask& t) {
    return json{{"messages", json::array({{{"role", "user"}, {"content", t.prompt}},
                                          {{"role", "assistant"}, {"content", t.answer}}})},
                {"skill", t.skill},
                {"language", t.language}};
  };
  std::vector<json> sft, sft_eval, dpo, dpo_eval;
  for (const SkillTask& t : sample(o.n_sft)) sft.push_back(chat(t));
  for (const SkillTask& t : sample(o.n_dpo)) dpo.push_back(skill_document(t));
  for (std::size_t i = 0; i < o.n_eval; ++i) sft_eval.push_back(chat(held_out[i]));
  for (std::size_t i = o.n_eval; i < o.n_eval + o.n_dpo_eval; ++i)
    dpo_eval.push_back(skill_document(held_out[i]));
  write_records(files.sft, sft);
  write_records(files.sft_eval, sft_eval);
  write_records(files.dpo, dpo);
  write_records(files.dpo_eval, dpo_eval);
  // Relative, so the folder can move.
  TaskSpec prompts = skill_generation_task("skills.dpo_prompts", {}, "dpo.jsonl");
  json task = task_to_json(prompts);
  task["dataset"]["path"] = "dpo.jsonl";
  write_file_atomic(files.dpo_prompts, to_yaml(task));
  return files;
}

}  // namespace enclave::eval
