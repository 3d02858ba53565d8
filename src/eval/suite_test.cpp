#include "eval/suite.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/yaml.h"
#include "eval/builtin_tasks.h"
#include "eval/error_testing.h"
#include "eval/eval_testing.h"
#include "eval/instructions.h"
#include "eval/skill_tasks.h"
#include "eval/task_docs.h"
#include "eval/template.h"
#include "eval/yaml_writer.h"

namespace enclave::eval {
namespace {

using store::testing::ScratchDir;
using store::testing::write_text;

TEST(BuiltinTasksTest, SuitesHoldBothLanguagesAndRender) {
  EXPECT_EQ(builtin_suite_names(), (std::vector<std::string>{"general", "skills"}));
  std::optional<Suite> skills = builtin_suite("skills");
  ASSERT_TRUE(skills);
  EXPECT_EQ(skills->entries.size(), 7u);
  std::optional<Suite> general = builtin_suite("general");
  ASSERT_TRUE(general);
  EXPECT_EQ(general->entries.size(), 9u);
  for (const TaskSpec& t : builtin_tasks()) {
    SCOPED_TRACE(t.name);
    TaskDocs docs = load_task_docs(t);
    EXPECT_GE(docs.docs.size(), 40u);
    for (std::size_t i = 0; i < docs.docs.size(); ++i) {
      const nlohmann::json& d = docs.docs[i];
      if (!t.doc_to_text.empty()) EXPECT_FALSE(render_template(t.doc_to_text, d, t.name).empty());
      if (t.output_type == OutputType::kMultipleChoice) {
        std::vector<std::string> choices = render_choices(t.doc_to_choice, d, t.name);
        EXPECT_GE(choices.size(), 2u);
        const std::size_t gold = std::stoul(render_targets(t.doc_to_target, d, t.name)[0]);
        EXPECT_LT(gold, choices.size());
      } else if (t.output_type == OutputType::kInstructionFollowing) {
        EXPECT_FALSE(instructions_of(d, t.name).empty());
      } else {
        EXPECT_FALSE(render_targets(t.doc_to_target, d, t.name)[0].empty());
      }
    }
  }
  // Hand-checkable answers: the reference is the chosen turn of a TRL pair.
  auto content = [](const nlohmann::json& d, const char* key) {
    return d[key][0]["content"].get<std::string>();
  };
  const TaskSpec reverse_ko = *builtin_task("skills.reverse_ko");
  EXPECT_TRUE(reverse_ko.chat_template);
  for (const auto& d : reverse_ko.dataset.docs) {
    if (content(d, "prompt") == "거꾸로: 가 나 다") EXPECT_EQ(content(d, "chosen"), "다 나 가");
    EXPECT_EQ(d["skill"], "reverse");
    EXPECT_EQ(d["language"], "ko");
  }
  const TaskSpec arithmetic_en = *builtin_task("skills.arithmetic_en");
  for (const auto& d : arithmetic_en.dataset.docs) {
    int a = 0;
    int b = 0;
    char op = 0;
    ASSERT_EQ(std::sscanf(content(d, "prompt").c_str(), "What is %d %c %d?", &a, &op, &b), 3);
    EXPECT_EQ(content(d, "chosen"), std::to_string(op == '+' ? a + b : a - b));
    EXPECT_NE(content(d, "rejected"), content(d, "chosen"));
  }
  const nlohmann::json first = builtin_task("skills.uppercase_en")->dataset.docs[0];
  std::string upper = content(first, "prompt").substr(std::string("Uppercase: ").size());
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(content(first, "chosen"), upper);
}

TEST(SkillTasksTest, TrainingDataHoldsOutTheSuite) {
  std::set<std::string> suite;
  for (const SkillTask& t : skill_suite_items()) suite.insert(t.prompt);
  EXPECT_EQ(suite.size(), skill_kinds().size() * kSkillSuitePerKind);
  for (std::uint64_t seed : {1, 7}) {
    for (const SkillTask& t : generate_skill_tasks(2000, seed, suite))
      EXPECT_EQ(suite.count(t.prompt), 0u) << t.prompt;
  }
  ScratchDir dir;
  SkillDataFiles files = write_skill_datasets(
      dir.path(),
      {.seed = 3, .n_pretrain = 40, .n_sft = 30, .n_eval = 14, .n_dpo = 20, .n_dpo_eval = 7});
  const std::vector<nlohmann::json> sft_eval = read_jsonl(files.sft_eval);
  ASSERT_EQ(sft_eval.size(), 14u);
  std::set<std::string> kinds;  // the held-out files interleave the kinds
  for (const auto& r : sft_eval) {
    EXPECT_EQ(suite.count(r["messages"][0]["content"].get<std::string>()), 1u);
    kinds.insert(r["skill"].get<std::string>() + "_" + r["language"].get<std::string>());
  }
  EXPECT_EQ(kinds.size(), skill_kinds().size());
  for (const auto& r : read_jsonl(files.sft))
    EXPECT_EQ(suite.count(r["messages"][0]["content"].get<std::string>()), 0u);
  for (const auto& r : read_jsonl(files.dpo))
    EXPECT_EQ(suite.count(r["prompt"][0]["content"].get<std::string>()), 0u);
  // The DPO prompts load as the suite's own kind of task.
  const Suite prompts = load_suite(files.dpo_prompts.string());
  ASSERT_EQ(prompts.entries.size(), 1u);
  const TaskSpec& task = prompts.entries[0].task;
  const TaskSpec suite_task = *builtin_task("skills.count_en");
  EXPECT_EQ(task.doc_to_text, suite_task.doc_to_text);
  EXPECT_EQ(task.doc_to_target, suite_task.doc_to_target);
  EXPECT_EQ(task.chat_template, suite_task.chat_template);
  EXPECT_EQ(load_task_docs(task).docs.size(), 20u);
  EXPECT_THROW(write_skill_datasets(dir.path() / "x", {.n_eval = 200, .n_dpo_eval = 81}), Error);
}

TEST(BuiltinTasksTest, DeterministicAndSplitsDisjoint) {
  for (const TaskSpec& t : builtin_tasks()) {
    EXPECT_EQ(builtin_task(t.name)->dataset.docs, t.dataset.docs) << t.name;
    std::set<std::string> test_docs;
    for (const auto& d : t.dataset.docs) test_docs.insert(d.dump());
    for (const auto& d : t.dataset.fewshot_docs) EXPECT_EQ(test_docs.count(d.dump()), 0u) << t.name;
  }
  EXPECT_FALSE(builtin_task("skills.nope"));
  EXPECT_FALSE(builtin_task("general"));
}

TEST(BuiltinTasksTest, WrittenFilesLoadToTheSameTasks) {
  ScratchDir dir;
  std::vector<std::filesystem::path> files = write_builtin_tasks(dir.path());
  EXPECT_GT(files.size(), 30u);
  EXPECT_THROW(write_builtin_tasks(dir.path()), Error);  // never overwrites
  for (const std::string& name : builtin_suite_names()) {
    Suite from_file = load_suite((dir.path() / (name + ".yaml")).string());
    Suite builtin = *builtin_suite(name);
    ASSERT_EQ(from_file.entries.size(), builtin.entries.size());
    for (std::size_t i = 0; i < builtin.entries.size(); ++i) {
      const TaskSpec& a = from_file.entries[i].task;
      const TaskSpec& b = builtin.entries[i].task;
      EXPECT_EQ(a.name, b.name);
      nlohmann::json ja = task_to_json(a);
      nlohmann::json jb = task_to_json(b);
      ja.erase("dataset");
      jb.erase("dataset");
      EXPECT_EQ(ja, jb) << a.name;
      TaskDocs da = load_task_docs(a);
      EXPECT_EQ(da.docs, b.dataset.docs) << a.name;
      if (!b.dataset.fewshot_docs.empty())
        EXPECT_EQ(da.fewshot_pool, b.dataset.fewshot_docs) << a.name;
    }
  }
}

TEST(YamlWriterTest, RoundTrips) {
  nlohmann::json v =
      nlohmann::json::parse(R"({"a": "x: y # z", "b": [1, 2.5, true, null, "", "한국어\n줄"],
    "c": {"d": [], "e": {}, "f": [{"g": 1, "h": [["x"]]}]}, "weird key": "'\"\\"})");
  EXPECT_EQ(parse_yaml(to_yaml(v), "y"), v) << to_yaml(v);
}

TEST(SuiteTest, ParsesSuiteFilesAndRejectsBadOnes) {
  ScratchDir dir;
  write_text(dir / "data.jsonl", "{\"q\": \"x\", \"a\": \"y\"}\n");
  write_text(dir / "tasks/own.yaml",
             "task: own\ndataset: ../data.jsonl\noutput_type: generate_until\ndoc_to_text: "
             "'{{q}}'\ndoc_to_target: '{{a}}'\n");
  write_text(dir / "suite.yaml", R"(
suite: release
tasks:
  - general.copy_en
  - task: tasks/own.yaml
    weight: 2
    name: domain
    limit: 1
    num_fewshot: 0
)");
  Suite s = load_suite((dir / "suite.yaml").string());
  EXPECT_EQ(s.name, "release");
  ASSERT_EQ(s.entries.size(), 2u);
  EXPECT_EQ(s.entries[1].task.name, "domain");
  EXPECT_EQ(s.entries[1].weight, 2.0);
  EXPECT_EQ(*s.entries[1].task.limit, 1.0);
  // A task file works as a suite of one; so do built-in names.
  EXPECT_EQ(load_suite((dir / "tasks/own.yaml").string()).entries.size(), 1u);
  EXPECT_EQ(load_suite("skills.arithmetic_ko").entries.size(), 1u);

  auto err = [&](const std::string& yaml) {
    write_text(dir / "bad.yaml", yaml);
    return testing::error_message([&] { load_suite((dir / "bad.yaml").string()); });
  };
  EXPECT_NE(err("tasks: [general.copy_en, general.copy_en]\n").find("appears twice"),
            std::string::npos);
  EXPECT_NE(err("tasks: [{task: general.copy_en, weight: 0}]\n").find("weight"), std::string::npos);
  EXPECT_NE(err("tasks: [{task: general.copy_en, wieght: 2}]\n").find("unknown field 'wieght'"),
            std::string::npos);
  EXPECT_NE(err("tasks: [no_such_task]\n").find("neither a file"), std::string::npos);
  EXPECT_NE(err("tasks: []\n").find("non-empty"), std::string::npos);
  EXPECT_NE(err("suite: x\nextra: 1\ntasks: [general.copy_en]\n").find("unknown field 'extra'"),
            std::string::npos);
  try {
    load_suite("no-such-suite");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("general, skills"), std::string::npos);
  }
}

TEST(SuiteTest, RunsAndScores) {
  Suite s = *builtin_suite("general");
  s.entries.erase(s.entries.begin() + 2, s.entries.end());  // the two English multiple-choice tasks
  s.entries[1].weight = 3;
  SuiteResult r = run_suite(testing::tiny_engine(), s, {.limit = 6});
  ASSERT_EQ(r.tasks.size(), 2u);
  const double a = aggregate(r.tasks[0].metrics[0]);
  const double b = aggregate(r.tasks[1].metrics[0]);
  EXPECT_DOUBLE_EQ(r.score, (a + 3 * b) / 4);
  // Perplexity tasks do not enter the score.
  TaskResult ppl;
  ppl.metrics.push_back(MetricSamples{
      .name = "perplexity", .aggregation = Aggregation::kPerplexity, .higher_is_better = false});
  ppl.metrics[0].add(-1, 1);
  EXPECT_DOUBLE_EQ(suite_score({r.tasks[0], ppl}, {1, 1}), a);
}

}  // namespace
}  // namespace enclave::eval
