#include "eval/task_spec.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/yaml.h"
#include "eval/error_testing.h"
#include "store/store_testing.h"

namespace enclave::eval {
namespace {

using store::testing::ScratchDir;
using store::testing::write_text;

std::string error_of(const std::string& yaml, const std::filesystem::path& dir) {
  return testing::error_message([&] { parse_task(parse_yaml(yaml, "t.yaml"), dir, "t.yaml"); });
}

class TaskSpecTest : public ::testing::Test {
 protected:
  void SetUp() override { write_text(dir_ / "data.jsonl", "{\"q\": \"x\", \"a\": \"y\"}\n"); }
  ScratchDir dir_;
};

TEST_F(TaskSpecTest, ParsesAnLmEvalStyleFile) {
  write_text(dir_ / "task.yaml", R"Y(
task: arith
tag: [demo]                # ignored bookkeeping
dataset: data.jsonl
output_type: generate_until
description: "Solve it."
doc_to_text: "Q: {{q}}\nA:"
doc_to_target: "{{a}}"
num_fewshot: 2
fewshot_seed: 7
limit: 0.5
generation_kwargs:
  until: ["\n", "Q:"]
  max_gen_toks: 16
  do_sample: false
metric_list:
  - exact_match
  - metric: exact_match
    ignore_case: true
    regexes_to_ignore: ["^\\s+"]
  - {metric: regex, pattern: "^{{a}}$"}
  - chrf
filter:
  - strip
  - {regex: "answer: (\\w+)", group: 1}
)Y");
  TaskSpec t = load_task_file(dir_ / "task.yaml");
  EXPECT_EQ(t.name, "arith");
  EXPECT_EQ(t.output_type, OutputType::kGenerateUntil);
  EXPECT_EQ(t.dataset.path, dir_.path() / "data.jsonl");
  EXPECT_EQ(t.dataset.split, "test");
  EXPECT_EQ(t.num_fewshot, 2);
  EXPECT_EQ(t.fewshot_seed, 7u);
  EXPECT_DOUBLE_EQ(*t.limit, 0.5);
  EXPECT_EQ(t.generation.until, (std::vector<std::string>{"\n", "Q:"}));
  EXPECT_EQ(t.generation.max_gen_toks, 16);
  EXPECT_EQ(t.generation.temperature, 0.0);
  ASSERT_EQ(t.metrics.size(), 4u);
  EXPECT_TRUE(t.metrics[1].match.ignore_case);
  EXPECT_EQ(t.metrics[1].match.regexes_to_ignore, (std::vector<std::string>{"^\\s+"}));
  EXPECT_EQ(t.metrics[2].pattern, "^{{a}}$");
  ASSERT_EQ(t.filter.size(), 2u);
  EXPECT_EQ(apply_filter(t.filter, "  answer: forty two "), "forty");
  EXPECT_EQ(apply_filter(t.filter, "no match"), "");
  EXPECT_EQ(apply_filter({}, "  x \n"), "x");

  // task_to_json reads back to the same task.
  TaskSpec again = parse_task(task_to_json(t), dir_.path(), "again");
  EXPECT_EQ(task_to_json(again), task_to_json(t));
}

TEST_F(TaskSpecTest, DefaultsAndDatasetForms) {
  std::filesystem::create_directories(dir_ / "folder");
  write_text(dir_ / "folder/validation.jsonl", "{}\n");
  TaskSpec mc = parse_task(parse_yaml(R"(
task: mc
dataset: {path: folder, split: validation, fewshot_split: train}
output_type: multiple_choice
doc_to_text: "{{q}}"
doc_to_target: 0
doc_to_choice: ["yes", "no"]
)",
                                      "t"),
                           dir_.path(), "t");
  EXPECT_EQ(mc.dataset.split, "validation");
  EXPECT_EQ(mc.dataset.fewshot_split, "train");
  std::vector<MetricSpec> metrics = effective_metrics(mc);
  ASSERT_EQ(metrics.size(), 2u);
  EXPECT_EQ(metrics[0].name, "acc");
  EXPECT_EQ(metrics[1].name, "acc_norm");

  TaskSpec ref = parse_task(
      parse_yaml("task: p\ndataset: wiki@2\noutput_type: perplexity\ndoc_to_target: '{{text}}'\n",
                 "t"),
      dir_.path(), "t");
  EXPECT_EQ(ref.dataset.ref, "wiki@2");
  EXPECT_EQ(effective_metrics(ref)[0].name, "perplexity");
  TaskSpec lm = parse_task(
      parse_yaml("task: p\ndataset_path: data.jsonl\ntest_split: dev\noutput_type: loglikelihood\n"
                 "doc_to_text: '{{q}}'\ndoc_to_target: '{{a}}'\n",
                 "t"),
      dir_.path(), "t");
  EXPECT_EQ(lm.dataset.split, "dev");
}

TEST_F(TaskSpecTest, RejectsBadFilesNamingTheField) {
  const std::string base =
      "task: x\ndataset: data.jsonl\noutput_type: generate_until\ndoc_to_text: '{{q}}'\n"
      "doc_to_target: '{{a}}'\n";
  auto err = [&](const std::string& yaml) { return error_of(yaml, dir_.path()); };
  EXPECT_NE(err(base + "num_fewshots: 3\n").find("unknown field 'num_fewshots'"),
            std::string::npos);
  EXPECT_NE(
      err("task: x\ndataset: data.jsonl\noutput_type: essay\n").find("unknown output_type 'essay'"),
      std::string::npos);
  EXPECT_NE(err("task: x\noutput_type: generate_until\ndoc_to_text: a\ndoc_to_target: b\n")
                .find("missing field 'dataset'"),
            std::string::npos);
  EXPECT_NE(err("dataset: data.jsonl\n").find("'task'"), std::string::npos);
  EXPECT_NE(err("task: x\ndataset: data.jsonl\noutput_type: generate_until\ndoc_to_target: a\n")
                .find("missing field 'doc_to_text'"),
            std::string::npos);
  EXPECT_NE(err(base + "metric_list: [acc]\n").find("metric 'acc' is not available"),
            std::string::npos);
  EXPECT_NE(err(base + "metric_list: [{metric: regex}]\n").find("needs a 'pattern'"),
            std::string::npos);
  EXPECT_NE(err(base + "metric_list: [{metric: exact_match, regexes_to_ignore: ['(']}]\n")
                .find("regex '('"),
            std::string::npos);
  EXPECT_NE(err(base + "num_fewshot: -1\n").find("num_fewshot"), std::string::npos);
  EXPECT_NE(err(base + "limit: 1.5\n").find("whole number"), std::string::npos);
  EXPECT_NE(err(base + "limit: 0\n").find("limit"), std::string::npos);
  EXPECT_NE(err(base + "doc_to_choice: '{{c}}'\n").find("only for output_type multiple_choice"),
            std::string::npos);
  EXPECT_NE(err(base + "generation_kwargs: {until: ['']}\n").find("empty stop string"),
            std::string::npos);
  EXPECT_NE(err(base + "generation_kwargs: {temperature: 0.7}\n").find("needs do_sample"),
            std::string::npos);
  EXPECT_NE(err(base + "generation_kwargs: {max_gen_toks: 0}\n").find("max_gen_toks"),
            std::string::npos);
  EXPECT_NE(err(base + "filter: [{regex: 'a', group: 2}]\n").find("group 2"), std::string::npos);
  EXPECT_NE(err(base + "filter: [shout]\n").find("unknown filter 'shout'"), std::string::npos);
  EXPECT_NE(err(base + "dataset_path: data.jsonl\n").find("not both"), std::string::npos);
  EXPECT_NE(err("task: x\ndataset: nope/missing.jsonl\noutput_type: generate_until\ndoc_to_text: "
                "a\ndoc_to_target: b\n")
                .find("does not exist"),
            std::string::npos);
  EXPECT_NE(err("task: x\ndataset: missing.jsonl\noutput_type: generate_until\ndoc_to_text: "
                "a\ndoc_to_target: b\n")
                .find("does not exist"),
            std::string::npos);
  EXPECT_NE(err(base + "doc_to_text: '{{q'\n").find("duplicate"),
            std::string::npos);  // YAML duplicate key
  EXPECT_NE(err("task: x\ndataset: data.jsonl\noutput_type: generate_until\ndoc_to_text: "
                "'{{q'\ndoc_to_target: a\n")
                .find("doc_to_text: line 1"),
            std::string::npos);
  EXPECT_NE(err("task: x\ndataset: data.jsonl\noutput_type: multiple_choice\ndoc_to_text: "
                "a\ndoc_to_target: 0\n")
                .find("missing field 'doc_to_choice'"),
            std::string::npos);
  EXPECT_NE(err("task: x\ndataset: data.jsonl\noutput_type: judge\ndoc_to_text: a\n")
                .find("needs a 'judge'"),
            std::string::npos);
  EXPECT_NE(err("task: x\ndataset: data.jsonl\noutput_type: judge\ndoc_to_text: a\njudge: {mode: "
                "single}\n")
                .find("exactly one of 'model' and 'url'"),
            std::string::npos);
  EXPECT_NE(err("task: x\ndataset: data.jsonl\noutput_type: judge\ndoc_to_text: a\njudge: {url: "
                "'http://h/v1', mode: pairwise}\n")
                .find("needs 'reference'"),
            std::string::npos);
  EXPECT_NE(err("task: x\ndataset: data.jsonl\noutput_type: judge\ndoc_to_text: a\n"
                "judge: {url: 'http://h/v1', score_regex: '\\d+'}\n")
                .find("capture group"),
            std::string::npos);
  EXPECT_NE(err("- a\n- b\n").find("expected a mapping"), std::string::npos);
  EXPECT_NE(err(base + "filter_list: [{name: a, filter: [{function: majority_vote}]}]\n")
                .find("majority_vote"),
            std::string::npos);
}

TEST_F(TaskSpecTest, LmEvalFilterList) {
  TaskSpec t = parse_task(parse_yaml(R"Y(
task: gsm
dataset: data.jsonl
output_type: generate_until
doc_to_text: "{{q}}"
doc_to_target: "{{a}}"
filter_list:
  - name: strict-match
    filter:
      - function: regex
        regex_pattern: "#### (\\-?[0-9\\.\\,]+)"
      - function: take_first
)Y",
                                     "t"),
                          dir_.path(), "t");
  EXPECT_EQ(apply_filter(t.filter, "so 3 + 4 = 7\n#### 7"), "7");
}

}  // namespace
}  // namespace enclave::eval
