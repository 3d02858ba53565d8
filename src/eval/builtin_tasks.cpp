#include "eval/builtin_tasks.h"

#include "core/error.h"
#include "core/file.h"
#include "eval/general_docs.h"
#include "eval/report.h"
#include "eval/skill_tasks.h"
#include "eval/yaml_writer.h"

namespace enclave::eval {
namespace fs = std::filesystem;
namespace {

constexpr std::uint64_t kSeed = 20240601;
constexpr std::size_t kGeneralDocs = 40;

TaskSpec base_task(std::string name, OutputType type, std::vector<nlohmann::json> docs) {
  TaskSpec t;
  t.name = std::move(name);
  t.source = "builtin";
  t.output_type = type;
  t.dataset.docs = std::move(docs);
  return t;
}

void set_generation(TaskSpec& t, const std::string& answer_cue, int max_gen_toks) {
  t.doc_to_text = "{{prompt}}\n" + answer_cue;
  t.generation.until = {"\n"};
  t.generation.max_gen_toks = max_gen_toks;
}

// One task per kind, over the suite's items (skill_tasks.h): the prompts the
// learning demo's held-out files take, scored as `train tasks` data is.
std::vector<TaskSpec> skills_tasks() {
  const std::vector<SkillTask> items = skill_suite_items();
  std::vector<TaskSpec> out;
  for (const SkillKind& kind : skill_kinds()) {
    std::vector<nlohmann::json> docs;
    for (const SkillTask& t : items) {
      if (t.skill == kind.skill && t.language == kind.language) docs.push_back(skill_document(t));
    }
    out.push_back(
        skill_generation_task(skill_task_name(kind.skill, kind.language), std::move(docs)));
  }
  return out;
}

std::vector<TaskSpec> general_tasks() {
  std::vector<TaskSpec> out;
  for (Language lang : {Language::kEnglish, Language::kKorean}) {
    const bool ko = lang == Language::kKorean;
    const std::string suffix(language_code(lang));
    const std::uint64_t s = kSeed + (ko ? 100 : 200);
    for (auto [name, docs] : {std::pair{"sequence", make_sequence_docs(lang, kGeneralDocs, s + 1)},
                              std::pair{"compare", make_compare_docs(lang, kGeneralDocs, s + 2)}}) {
      TaskSpec t = base_task(fmt::format("general.{}_{}", name, suffix),
                             OutputType::kMultipleChoice, std::move(docs));
      t.doc_to_text = ko ? "질문: {{question}}\n답:" : "Question: {{question}}\nAnswer:";
      t.doc_to_choice = "{{choices}}";
      t.doc_to_target = "{{answer}}";
      out.push_back(std::move(t));
    }
    TaskSpec copy = base_task("general.copy_" + suffix, OutputType::kGenerateUntil,
                              make_copy_docs(lang, kGeneralDocs, s + 3));
    set_generation(copy, ko ? "답:" : "Answer:", 16);
    copy.doc_to_target = "{{answer}}";
    out.push_back(std::move(copy));
    TaskSpec text = base_task("general.text_" + suffix, OutputType::kPerplexity,
                              make_text_docs(lang, kGeneralDocs, s + 4));
    text.doc_to_target = "{{text}}";
    // Bits per byte first: it is the primary metric gates look at, and unlike
    // perplexity it does not depend on the tokenizer.
    text.metrics = {{.name = "bits_per_byte"}, {.name = "perplexity"}};
    out.push_back(std::move(text));
  }
  TaskSpec inst = base_task("general.instructions", OutputType::kInstructionFollowing,
                            make_instruction_docs(kGeneralDocs, kSeed + 300));
  inst.doc_to_text = "{{prompt}}";
  inst.generation.max_gen_toks = 64;
  out.push_back(std::move(inst));
  return out;
}

std::vector<TaskSpec> suite_tasks(std::string_view name) {
  if (name == "skills") return skills_tasks();
  if (name == "general") return general_tasks();
  return {};
}

std::string jsonl(const std::vector<nlohmann::json>& docs) {
  std::string out;
  for (const auto& d : docs)
    out += d.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict) + "\n";
  return out;
}

void write_new(const fs::path& path, std::string_view data, std::vector<fs::path>& written) {
  if (fs::exists(path))
    fail_input("{}: already exists; write the task files into a new folder", path.string());
  fs::create_directories(path.parent_path());
  write_file_atomic(path, data);
  written.push_back(path);
}

}  // namespace

std::vector<std::string> builtin_suite_names() { return {"general", "skills"}; }

std::optional<Suite> builtin_suite(std::string_view name) {
  std::vector<TaskSpec> tasks = suite_tasks(name);
  if (tasks.empty()) return std::nullopt;
  Suite suite{.name = std::string(name), .source = "builtin", .entries = {}};
  for (TaskSpec& t : tasks) suite.entries.push_back({.task = std::move(t), .weight = 1.0});
  return suite;
}

std::optional<TaskSpec> builtin_task(std::string_view name) {
  const std::size_t dot = name.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  for (TaskSpec& t : suite_tasks(name.substr(0, dot))) {
    if (t.name == name) return std::move(t);
  }
  return std::nullopt;
}

std::vector<TaskSpec> builtin_tasks() {
  std::vector<TaskSpec> all;
  for (const std::string& suite : builtin_suite_names()) {
    for (TaskSpec& t : suite_tasks(suite)) all.push_back(std::move(t));
  }
  return all;
}

nlohmann::json builtin_task_list_json() {
  nlohmann::json list = nlohmann::json::array();
  for (const std::string& suite : builtin_suite_names()) {
    for (const TaskSpec& t : suite_tasks(suite)) {
      std::string metrics;
      for (const MetricSpec& m : effective_metrics(t))
        metrics += (metrics.empty() ? "" : ",") + m.name;
      list.push_back({{"suite", suite},
                      {"task", t.name},
                      {"output_type", to_string(t.output_type)},
                      {"n_docs", t.dataset.docs.size()},
                      {"metrics", metrics}});
    }
  }
  return list;
}

std::string format_builtin_task_list() {
  std::vector<std::vector<std::string>> rows;
  for (const nlohmann::json& t : builtin_task_list_json()) {
    rows.push_back({t["suite"], t["task"], t["output_type"],
                    std::to_string(t["n_docs"].get<std::size_t>()), t["metrics"]});
  }
  return format_table({"suite", "task", "output_type", "docs", "metrics"}, rows);
}

std::vector<fs::path> write_builtin_tasks(const fs::path& dir) {
  std::vector<fs::path> written;
  for (const std::string& suite : builtin_suite_names()) {
    nlohmann::json suite_json = {{"suite", suite}, {"tasks", nlohmann::json::array()}};
    for (TaskSpec t : suite_tasks(suite)) {
      const fs::path data = fs::path("data") / t.name;
      write_new(dir / suite / data / "test.jsonl", jsonl(t.dataset.docs), written);
      if (!t.dataset.fewshot_docs.empty()) {
        write_new(dir / suite / data / "train.jsonl", jsonl(t.dataset.fewshot_docs), written);
      }
      t.dataset.path = data;  // relative to the task file
      nlohmann::json task_json = task_to_json(t);
      task_json["dataset"]["path"] = data.generic_string();
      write_new(dir / suite / (t.name + ".yaml"), to_yaml(task_json), written);
      suite_json["tasks"].push_back(suite + "/" + t.name + ".yaml");
    }
    write_new(dir / (suite + ".yaml"), to_yaml(suite_json), written);
  }
  return written;
}

}  // namespace enclave::eval
