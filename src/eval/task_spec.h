// Task files: one evaluation task in YAML, close to lm-evaluation-harness:
//
//   task: reverse_en
//   dataset: data/reverse_en.jsonl   # a JSONL path (relative to this file), a
//                                    # folder of <split>.jsonl, or a dataset
//                                    # ref in the workspace ("qa@2");
//                                    # or {path|ref: ..., split: test}
//   output_type: generate_until      # multiple_choice | loglikelihood |
//                                    # perplexity | generate_until |
//                                    # instruction_following | judge
//   doc_to_text: "Reverse the word: {{word}}\nAnswer:"
//   doc_to_target: "{{reversed}}"
//   doc_to_choice: "{{choices}}"      # multiple_choice: a list field, or a list of templates
//   num_fewshot: 3
//   fewshot_seed: 1234
//   limit: 100                        # first N documents (a fraction if < 1)
//   generation_kwargs: {until: ["\n"], max_gen_toks: 32}
//   metric_list:
//     - exact_match                   # or {metric: exact_match, ignore_case: true, ...}
//     - {metric: regex, pattern: "^\\d+$"}
//
// Also: description, target_delimiter (" "), fewshot_delimiter ("\n\n"),
// fewshot_split, test_split/dataset_path (lm-eval spellings), chat_template
// (render prompts with the model's chat template), filter (steps applied to
// generated text before scoring: strip, lowercase, uppercase, {regex: P,
// group: 1}, take_first_line), judge (see judge.h). Keys lm-eval uses for
// bookkeeping (tag, group, metadata) are accepted and ignored; any other
// unknown key is an error, so a typo never silently changes a result.
// Thread safety: stateless functions; TaskSpec is a plain value.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eval/text_metrics.h"

namespace enclave::eval {

enum class OutputType {
  kMultipleChoice,
  kLoglikelihood,
  kPerplexity,
  kGenerateUntil,
  kInstructionFollowing,
  kJudge,
};
std::string_view to_string(OutputType type);
// Throws Error(kInvalidInput) naming `what` for an unknown name.
OutputType parse_output_type(std::string_view name, std::string_view what);

struct DatasetSpec {
  std::filesystem::path path;  // file or folder (absolute once loaded from a file)
  std::string ref;             // registry dataset reference
  std::string split = "test";
  std::string fewshot_split;  // empty: the evaluation split, minus the document itself
  // lm-evaluation-harness's `dataset_path: json|csv` with
  // `dataset_kwargs.data_files`: split name -> file (absolute once loaded).
  std::map<std::string, std::filesystem::path> split_files;
  // Documents held in memory (the built-in tasks); used when path and ref are empty.
  std::vector<nlohmann::json> docs;
  std::vector<nlohmann::json> fewshot_docs;
};

struct GenerationSpec {
  std::vector<std::string> until;  // stop strings
  int max_gen_toks = 256;
  double temperature = 0.0;  // 0: greedy (the default, as lm-eval)
  double top_p = 1.0;
  std::uint64_t seed = 1234;
};

struct MetricSpec {
  std::string name;     // exact_match, contains, regex, token_f1, rouge_l, chrf, acc, ...
  MatchOptions match;   // exact_match, contains
  std::string pattern;  // regex: a template, so it may use {{fields}}
};

// One step of the output filter.
struct FilterStep {
  enum class Kind { kStrip, kLowercase, kUppercase, kRegex, kTakeFirstLine };
  Kind kind = Kind::kStrip;
  std::string pattern;  // kRegex: the first match (group `group`) replaces the text; none: ""
  int group = 0;
};

struct JudgeSpec {
  std::string model;        // local model ref or directory
  std::string url;          // OpenAI-compatible base URL (".../v1")
  std::string api_model;    // "model" field sent to the URL
  std::string api_key_env;  // environment variable holding the bearer token
  bool pairwise = false;    // mode: single | pairwise
  std::string rubric;       // template; empty: the built-in rubric for the mode
  std::string reference;    // pairwise: template of the answer to compare with
  std::string score_regex;  // single: group 1 is the score; empty: "[[N]]"
  double min_score = 1;
  double max_score = 10;
  int max_tokens = 256;
  double timeout_s = 120;
};

struct TaskSpec {
  std::string name;
  std::string source;  // the file it came from, or "builtin"
  DatasetSpec dataset;
  OutputType output_type = OutputType::kGenerateUntil;
  std::string
      description;  // text before the few-shot examples (system message with a chat template)
  std::string doc_to_text;
  nlohmann::json doc_to_target;  // template string, or an integer choice index
  nlohmann::json doc_to_choice;  // template string or list of templates
  std::string target_delimiter = " ";
  std::string fewshot_delimiter = "\n\n";
  int num_fewshot = 0;
  std::uint64_t fewshot_seed = 1234;
  std::optional<double> limit;
  bool chat_template = false;
  GenerationSpec generation;
  std::vector<MetricSpec> metrics;  // empty: the output type's defaults
  std::vector<FilterStep> filter;   // empty: strip
  JudgeSpec judge;
};

// Parses a task from its YAML/JSON value. base_dir resolves relative dataset
// paths. Throws Error(kInvalidInput) naming `what` and the field for missing
// or mistyped fields, unknown keys, bad templates and bad regexes.
TaskSpec parse_task(const nlohmann::json& value, const std::filesystem::path& base_dir,
                    std::string_view what);

// Reads a task file (YAML). Errors name the file.
TaskSpec load_task_file(const std::filesystem::path& path);

// The task as a value parse_task reads back (in-memory documents are left
// out: write them to a file and set dataset.path first).
nlohmann::json task_to_json(const TaskSpec& task);

// The metrics a task reports, with defaults filled in per output type.
std::vector<MetricSpec> effective_metrics(const TaskSpec& task);

// Applies the filter (or the default strip) to a generated text.
std::string apply_filter(const std::vector<FilterStep>& filter, std::string_view text);

}  // namespace enclave::eval
