#include "eval/task_spec.h"

#include <re2/re2.h>

#include <algorithm>
#include <set>

#include "core/error.h"
#include "core/json.h"
#include "core/yaml.h"
#include "eval/template.h"
#include "eval/unicode_ops.h"

namespace enclave::eval {
namespace fs = std::filesystem;
namespace {

struct OutputTypeName {
  OutputType type;
  std::string_view name;
};
constexpr OutputTypeName kOutputTypes[] = {
    {OutputType::kMultipleChoice, "multiple_choice"},
    {OutputType::kLoglikelihood, "loglikelihood"},
    {OutputType::kPerplexity, "perplexity"},
    {OutputType::kGenerateUntil, "generate_until"},
    {OutputType::kInstructionFollowing, "instruction_following"},
    {OutputType::kJudge, "judge"},
};

const std::set<std::string, std::less<>> kTaskKeys = {
    "task",           "dataset",           "dataset_path",
    "test_split",     "fewshot_split",     "output_type",
    "description",    "doc_to_text",       "doc_to_target",
    "doc_to_choice",  "target_delimiter",  "fewshot_delimiter",
    "num_fewshot",    "fewshot_seed",      "limit",
    "chat_template",  "generation_kwargs", "metric_list",
    "filter",         "filter_list",       "judge",
    "dataset_kwargs", "validation_split",  "training_split"};
// lm-evaluation-harness bookkeeping keys: accepted so its files load, ignored.
const std::set<std::string, std::less<>> kIgnoredKeys = {"tag",
                                                         "group",
                                                         "metadata",
                                                         "dataset_name",
                                                         "should_decontaminate",
                                                         "doc_to_decontamination_query",
                                                         "repeats"};

std::vector<std::string_view> metric_names(OutputType type) {
  switch (type) {
    case OutputType::kMultipleChoice:
      return {"acc", "acc_norm"};
    case OutputType::kLoglikelihood:
      return {"perplexity", "acc", "bits_per_byte"};
    case OutputType::kPerplexity:
      return {"perplexity", "bits_per_byte"};
    case OutputType::kGenerateUntil:
      return {"exact_match", "contains", "regex", "token_f1", "rouge_l", "chrf"};
    case OutputType::kInstructionFollowing:
      return {"prompt_level_strict_acc", "inst_level_strict_acc", "prompt_level_loose_acc",
              "inst_level_loose_acc"};
    case OutputType::kJudge:
      return {"score", "score_norm", "win_rate", "judge_invalid"};
  }
  return {};
}

void check_keys(const nlohmann::json& obj, const std::set<std::string, std::less<>>& known,
                const std::set<std::string, std::less<>>& ignored, std::string_view what) {
  for (const auto& [key, value] : obj.items()) {
    if (known.count(key) == 0 && ignored.count(key) == 0)
      fail_input("{}: unknown field '{}'", what, key);
  }
}

void check_regex(std::string_view pattern, std::string_view what) {
  re2::RE2::Options options;
  options.set_log_errors(false);
  re2::RE2 re(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re.ok()) fail_input("{}: regex '{}': {}", what, pattern, re.error());
}

std::vector<std::string> string_list(const nlohmann::json& value, std::string_view what) {
  std::vector<std::string> out;
  if (value.is_string()) return {value.get<std::string>()};
  if (!value.is_array())
    fail_input("{}: expected a list of strings, got {}", what, json_type_name(value));
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string())
      fail_input("{}[{}]: expected a string, got {}", what, i, json_type_name(value[i]));
    out.push_back(value[i].get<std::string>());
  }
  return out;
}

// lm-evaluation-harness's local files: `dataset_kwargs: {data_files: ...}`,
// a file (the "train" split, as Hugging Face names it) or {split: file}.
std::map<std::string, fs::path> parse_data_files(const nlohmann::json& root,
                                                 const fs::path& base_dir, std::string_view what) {
  std::map<std::string, fs::path> out;
  if (!root.contains("dataset_kwargs")) return out;
  const nlohmann::json& kw = root["dataset_kwargs"];
  const std::string ctx = fmt::format("{}: field 'dataset_kwargs'", what);
  if (!kw.is_object()) fail_input("{}: expected a mapping", ctx);
  if (!kw.contains("data_files")) return out;
  auto file_of = [&](const nlohmann::json& v, const std::string& split) {
    const std::string field = fmt::format("{}.data_files.{}", ctx, split);
    const nlohmann::json* one = &v;
    if (v.is_array()) {
      if (v.size() != 1) fail_input("{}: one file per split is supported, got {}", field, v.size());
      one = &v[0];
    }
    if (!one->is_string() || one->get<std::string>().empty())
      fail_input("{}: expected a file path", field);
    fs::path p = one->get<std::string>();
    if (!p.is_absolute()) p = base_dir / p;
    std::error_code ec;
    if (!fs::is_regular_file(p, ec))
      fail(ErrorKind::kNotFound, "{}: {} does not exist", field, p.string());
    return p;
  };
  const nlohmann::json& files = kw["data_files"];
  if (files.is_object()) {
    for (const auto& [split, v] : files.items()) out[split] = file_of(v, split);
  } else {
    out["train"] = file_of(files, "train");
  }
  if (out.empty()) fail_input("{}.data_files: no files", ctx);
  return out;
}

void parse_dataset(const nlohmann::json& root, const fs::path& base_dir, std::string_view what,
                   DatasetSpec& out) {
  auto set_location = [&](const std::string& text, bool is_ref) {
    if (text.empty()) fail_input("{}: field 'dataset': empty", what);
    fs::path candidate = fs::path(text).is_absolute() ? fs::path(text) : base_dir / text;
    std::error_code ec;
    if (!is_ref && fs::exists(candidate, ec)) {
      out.path = candidate;
    } else if (is_ref ||
               (text.find('/') == std::string::npos && fs::path(text).extension() != ".jsonl")) {
      out.ref = text;  // not a file here: a registry reference, resolved when the task runs
    } else {
      fail(ErrorKind::kNotFound, "{}: field 'dataset': {} does not exist", what,
           candidate.string());
    }
  };
  const std::string ctx = fmt::format("{}: field 'dataset'", what);
  if (root.contains("dataset") && root.contains("dataset_path")) {
    fail_input("{}: give 'dataset' or 'dataset_path', not both", what);
  }
  const nlohmann::json* ds = root.contains("dataset") ? &root["dataset"] : nullptr;
  if (ds == nullptr && root.contains("dataset_path")) ds = &root["dataset_path"];
  if (ds == nullptr) fail_input("{}: missing field 'dataset'", what);
  out.split_files = parse_data_files(root, base_dir, what);
  const bool builder = ds->is_string() && (*ds == "json" || *ds == "csv");
  if (builder && out.split_files.empty())
    fail_input("{}: dataset_path {} needs dataset_kwargs.data_files naming the files", what,
               ds->dump());
  if (!builder && !out.split_files.empty())
    fail_input("{}: dataset_kwargs.data_files needs dataset_path json or csv, not {}", what,
               ds->dump());
  if (builder) {
    // Hugging Face's json/csv builders: the data files name the splits.
    if (out.split_files.size() == 1) out.split = out.split_files.begin()->first;
  } else if (ds->is_string()) {
    set_location(ds->get<std::string>(), false);
  } else if (ds->is_object()) {
    check_keys(*ds, {"path", "ref", "split", "fewshot_split"}, {}, ctx);
    if (ds->contains("path") == ds->contains("ref"))
      fail_input("{}: give exactly one of 'path' and 'ref'", ctx);
    if (ds->contains("path")) {
      const std::string p = json_string(*ds, "path", ctx);
      out.path = fs::path(p).is_absolute() ? fs::path(p) : base_dir / p;
      if (!fs::exists(out.path))
        fail(ErrorKind::kNotFound, "{}: path {} does not exist", ctx, out.path.string());
    } else {
      out.ref = json_string(*ds, "ref", ctx);
    }
    out.split = json_string(*ds, "split", ctx, out.split);
    out.fewshot_split = json_string(*ds, "fewshot_split", ctx, out.fewshot_split);
  } else {
    fail_input("{}: expected a path, a dataset reference or a mapping, got {}", ctx,
               json_type_name(*ds));
  }
  // As lm-evaluation-harness: the test split, else the validation split; few-shot
  // examples from fewshot_split, else the training split.
  out.split = json_string(root, "validation_split", what, out.split);
  out.split = json_string(root, "test_split", what, out.split);
  out.fewshot_split = json_string(root, "training_split", what, out.fewshot_split);
  out.fewshot_split = json_string(root, "fewshot_split", what, out.fewshot_split);
  if (out.split.empty()) fail_input("{}: split is empty", ctx);
}

GenerationSpec parse_generation(const nlohmann::json& root, std::string_view what) {
  GenerationSpec g;
  if (!root.contains("generation_kwargs")) return g;
  const nlohmann::json& kw = root["generation_kwargs"];
  const std::string ctx = fmt::format("{}: field 'generation_kwargs'", what);
  if (!kw.is_object()) fail_input("{}: expected a mapping", ctx);
  check_keys(kw, {"until", "max_gen_toks", "do_sample", "temperature", "top_p", "seed"}, {}, ctx);
  if (kw.contains("until")) g.until = string_list(kw["until"], ctx + ".until");
  for (const std::string& s : g.until) {
    if (s.empty()) fail_input("{}.until: empty stop string", ctx);
  }
  g.max_gen_toks = static_cast<int>(json_int(kw, "max_gen_toks", ctx, g.max_gen_toks));
  if (g.max_gen_toks < 1 || g.max_gen_toks > 1 << 20)
    fail_input("{}.max_gen_toks: must be in [1, 1048576]", ctx);
  const bool do_sample = json_bool(kw, "do_sample", ctx, false);
  g.temperature = json_number(kw, "temperature", ctx, do_sample ? 1.0 : 0.0);
  if (!do_sample && kw.contains("temperature") && g.temperature != 0) {
    fail_input("{}: temperature {} needs do_sample: true", ctx, g.temperature);
  }
  if (g.temperature < 0 || g.temperature > 100)
    fail_input("{}.temperature: must be in [0, 100]", ctx);
  g.top_p = json_number(kw, "top_p", ctx, g.top_p);
  if (!(g.top_p > 0 && g.top_p <= 1)) fail_input("{}.top_p: must be in (0, 1]", ctx);
  g.seed = static_cast<std::uint64_t>(json_int(kw, "seed", ctx, static_cast<std::int64_t>(g.seed)));
  return g;
}

MetricSpec parse_metric(const nlohmann::json& value, OutputType type, std::string_view what) {
  MetricSpec m;
  if (value.is_string()) {
    m.name = value.get<std::string>();
  } else if (value.is_object()) {
    check_keys(value,
               {"metric", "ignore_case", "ignore_punctuation", "ignore_whitespace",
                "regexes_to_ignore", "pattern"},
               {"aggregation", "higher_is_better"}, what);
    m.name = json_string(value, "metric", what);
    m.match.ignore_case = json_bool(value, "ignore_case", what, false);
    m.match.ignore_punctuation = json_bool(value, "ignore_punctuation", what, false);
    m.match.ignore_whitespace = json_bool(value, "ignore_whitespace", what, false);
    if (value.contains("regexes_to_ignore")) {
      m.match.regexes_to_ignore =
          string_list(value["regexes_to_ignore"], fmt::format("{}.regexes_to_ignore", what));
    }
    m.pattern = json_string(value, "pattern", what, "");
  } else {
    fail_input("{}: expected a metric name or mapping, got {}", what, json_type_name(value));
  }
  const auto names = metric_names(type);
  if (std::find(names.begin(), names.end(), m.name) == names.end()) {
    std::string list;
    for (auto n : names) list += (list.empty() ? "" : ", ") + std::string(n);
    fail_input("{}: metric '{}' is not available for output_type {} (available: {})", what, m.name,
               to_string(type), list);
  }
  if (m.name == "regex") {
    if (m.pattern.empty()) fail_input("{}: metric 'regex' needs a 'pattern'", what);
    check_template(m.pattern, what);
  } else if (!m.pattern.empty()) {
    fail_input("{}: 'pattern' is only for the regex metric", what);
  }
  check_match_options(m.match, what);
  return m;
}

FilterStep parse_filter_step(const nlohmann::json& value, std::string_view what) {
  FilterStep step;
  if (value.is_string()) {
    const std::string name = value.get<std::string>();
    if (name == "strip") return {.kind = FilterStep::Kind::kStrip};
    if (name == "lowercase") return {.kind = FilterStep::Kind::kLowercase};
    if (name == "uppercase") return {.kind = FilterStep::Kind::kUppercase};
    if (name == "take_first_line") return {.kind = FilterStep::Kind::kTakeFirstLine};
    fail_input(
        "{}: unknown filter '{}' (strip, lowercase, uppercase, take_first_line, {{regex: P}})",
        what, name);
  }
  if (!value.is_object()) fail_input("{}: expected a filter name or {{regex: P, group: N}}", what);
  check_keys(value, {"regex", "group"}, {}, what);
  step.kind = FilterStep::Kind::kRegex;
  step.pattern = json_string(value, "regex", what);
  check_regex(step.pattern, what);
  step.group = static_cast<int>(json_int(value, "group", what, 0));
  re2::RE2 re(step.pattern);
  if (step.group < 0 || step.group > re.NumberOfCapturingGroups()) {
    fail_input("{}: group {} but the regex has {} groups", what, step.group,
               re.NumberOfCapturingGroups());
  }
  return step;
}

// lm-evaluation-harness filter_list with one entry: regex, take_first,
// lowercase, uppercase, remove_whitespace.
std::vector<FilterStep> parse_filter_list(const nlohmann::json& value, std::string_view what) {
  if (!value.is_array() || value.size() != 1) {
    fail(ErrorKind::kUnsupported, "{}: only a filter_list with exactly one entry is supported",
         what);
  }
  const std::string ctx = fmt::format("{}[0]", what);
  const nlohmann::json& entry = value[0];
  if (!entry.is_object() || !entry.contains("filter") || !entry["filter"].is_array()) {
    fail_input("{}: expected {{name: ..., filter: [...]}}", ctx);
  }
  std::vector<FilterStep> steps;
  for (std::size_t i = 0; i < entry["filter"].size(); ++i) {
    const nlohmann::json& f = entry["filter"][i];
    const std::string fctx = fmt::format("{}.filter[{}]", ctx, i);
    const std::string function = json_string(f, "function", fctx);
    if (function == "take_first") continue;  // one sample per document
    if (function == "lowercase") {
      steps.push_back({.kind = FilterStep::Kind::kLowercase});
    } else if (function == "uppercase") {
      steps.push_back({.kind = FilterStep::Kind::kUppercase});
    } else if (function == "remove_whitespace") {
      steps.push_back({.kind = FilterStep::Kind::kStrip});
    } else if (function == "regex") {
      FilterStep step{.kind = FilterStep::Kind::kRegex,
                      .pattern = json_string(f, "regex_pattern", fctx)};
      check_regex(step.pattern, fctx);
      step.group = re2::RE2(step.pattern).NumberOfCapturingGroups() > 0 ? 1 : 0;
      steps.push_back(step);
    } else {
      fail(ErrorKind::kUnsupported, "{}: filter function '{}' is not supported", fctx, function);
    }
  }
  return steps;
}

JudgeSpec parse_judge(const nlohmann::json& value, std::string_view what) {
  const std::string ctx = fmt::format("{}: field 'judge'", what);
  if (!value.is_object()) fail_input("{}: expected a mapping", ctx);
  check_keys(value,
             {"model", "url", "api_model", "api_key_env", "mode", "rubric", "reference",
              "score_regex", "min_score", "max_score", "max_tokens", "timeout_s"},
             {}, ctx);
  JudgeSpec j;
  j.model = json_string(value, "model", ctx, "");
  j.url = json_string(value, "url", ctx, "");
  if (j.model.empty() == j.url.empty())
    fail_input("{}: give exactly one of 'model' and 'url'", ctx);
  j.api_model = json_string(value, "api_model", ctx, "");
  j.api_key_env = json_string(value, "api_key_env", ctx, "");
  const std::string mode = json_string(value, "mode", ctx, "single");
  if (mode != "single" && mode != "pairwise")
    fail_input("{}.mode: expected single or pairwise, got '{}'", ctx, mode);
  j.pairwise = mode == "pairwise";
  j.rubric = json_string(value, "rubric", ctx, "");
  check_template(j.rubric, ctx + ".rubric");
  j.reference = json_string(value, "reference", ctx, "");
  check_template(j.reference, ctx + ".reference");
  if (j.pairwise && j.reference.empty())
    fail_input("{}: pairwise mode needs 'reference' (the answer to compare with)", ctx);
  j.score_regex = json_string(value, "score_regex", ctx, "");
  if (!j.score_regex.empty()) {
    check_regex(j.score_regex, ctx + ".score_regex");
    if (re2::RE2(j.score_regex).NumberOfCapturingGroups() < 1)
      fail_input("{}.score_regex: needs a capture group", ctx);
  }
  j.min_score = json_number(value, "min_score", ctx, j.min_score);
  j.max_score = json_number(value, "max_score", ctx, j.max_score);
  if (!(j.max_score > j.min_score)) fail_input("{}: max_score must be greater than min_score", ctx);
  j.max_tokens = static_cast<int>(json_int(value, "max_tokens", ctx, j.max_tokens));
  if (j.max_tokens < 1 || j.max_tokens > 1 << 16)
    fail_input("{}.max_tokens: must be in [1, 65536]", ctx);
  j.timeout_s = json_number(value, "timeout_s", ctx, j.timeout_s);
  if (!(j.timeout_s > 0)) fail_input("{}.timeout_s: must be > 0", ctx);
  return j;
}

}  // namespace

std::string_view to_string(OutputType type) {
  for (const auto& entry : kOutputTypes) {
    if (entry.type == type) return entry.name;
  }
  return "?";
}

OutputType parse_output_type(std::string_view name, std::string_view what) {
  for (const auto& entry : kOutputTypes) {
    if (entry.name == name) return entry.type;
  }
  fail_input(
      "{}: unknown output_type '{}' (multiple_choice, loglikelihood, perplexity, generate_until, "
      "instruction_following, judge)",
      what, name);
}

TaskSpec parse_task(const nlohmann::json& root, const fs::path& base_dir, std::string_view what) {
  if (!root.is_object())
    fail_input("{}: expected a mapping of task fields, got {}", what, json_type_name(root));
  check_keys(root, kTaskKeys, kIgnoredKeys, what);
  TaskSpec t;
  t.source = std::string(what);
  t.name = json_string(root, "task", what);
  if (t.name.empty()) fail_input("{}: field 'task': empty", what);
  t.output_type = parse_output_type(json_string(root, "output_type", what),
                                    fmt::format("{}: field 'output_type'", what));
  parse_dataset(root, base_dir, what, t.dataset);
  t.description = json_string(root, "description", what, "");
  check_template(t.description, fmt::format("{}: description", what));

  const bool needs_text = t.output_type != OutputType::kPerplexity;
  t.doc_to_text = json_string(root, "doc_to_text", what, "");
  if (needs_text && t.doc_to_text.empty()) fail_input("{}: missing field 'doc_to_text'", what);
  check_template(t.doc_to_text, fmt::format("{}: doc_to_text", what));
  if (root.contains("doc_to_target")) {
    t.doc_to_target = root["doc_to_target"];
    if (t.doc_to_target.is_string()) {
      check_template(t.doc_to_target.get<std::string>(), fmt::format("{}: doc_to_target", what));
    } else if (!t.doc_to_target.is_number_integer()) {
      fail_input("{}: field 'doc_to_target': expected a template or an integer, got {}", what,
                 json_type_name(t.doc_to_target));
    }
  }
  const bool needs_target =
      t.output_type == OutputType::kMultipleChoice || t.output_type == OutputType::kLoglikelihood ||
      t.output_type == OutputType::kPerplexity || t.output_type == OutputType::kGenerateUntil;
  if (needs_target && t.doc_to_target.is_null())
    fail_input("{}: missing field 'doc_to_target'", what);
  if (root.contains("doc_to_choice")) {
    t.doc_to_choice = root["doc_to_choice"];
    if (t.output_type != OutputType::kMultipleChoice) {
      fail_input("{}: field 'doc_to_choice' is only for output_type multiple_choice", what);
    }
    if (!t.doc_to_choice.is_string() && !t.doc_to_choice.is_array()) {
      fail_input("{}: field 'doc_to_choice': expected a template or a list of templates", what);
    }
  } else if (t.output_type == OutputType::kMultipleChoice) {
    fail_input("{}: missing field 'doc_to_choice'", what);
  }
  t.target_delimiter = json_string(root, "target_delimiter", what, t.target_delimiter);
  t.fewshot_delimiter = json_string(root, "fewshot_delimiter", what, t.fewshot_delimiter);
  const std::int64_t shots = json_int(root, "num_fewshot", what, 0);
  if (shots < 0 || shots > 1000)
    fail_input("{}: field 'num_fewshot': must be in [0, 1000], got {}", what, shots);
  t.num_fewshot = static_cast<int>(shots);
  t.fewshot_seed = static_cast<std::uint64_t>(json_int(root, "fewshot_seed", what, 1234));
  if (root.contains("limit") && !root["limit"].is_null()) {
    const double limit = json_number(root, "limit", what);
    if (!(limit > 0)) fail_input("{}: field 'limit': must be > 0, got {}", what, limit);
    if (limit >= 1 && limit != static_cast<double>(static_cast<std::int64_t>(limit))) {
      fail_input("{}: field 'limit': a count must be a whole number, a fraction below 1; got {}",
                 what, limit);
    }
    t.limit = limit;
  }
  t.chat_template = json_bool(root, "chat_template", what, false);
  t.generation = parse_generation(root, what);
  if (root.contains("metric_list")) {
    const nlohmann::json& list = root["metric_list"];
    if (!list.is_array() || list.empty())
      fail_input("{}: field 'metric_list': expected a non-empty list", what);
    for (std::size_t i = 0; i < list.size(); ++i) {
      t.metrics.push_back(
          parse_metric(list[i], t.output_type, fmt::format("{}: metric_list[{}]", what, i)));
    }
  }
  if (root.contains("filter") && root.contains("filter_list"))
    fail_input("{}: give 'filter' or 'filter_list'", what);
  if (root.contains("filter")) {
    const nlohmann::json& steps = root["filter"];
    if (!steps.is_array()) fail_input("{}: field 'filter': expected a list of steps", what);
    for (std::size_t i = 0; i < steps.size(); ++i) {
      t.filter.push_back(parse_filter_step(steps[i], fmt::format("{}: filter[{}]", what, i)));
    }
  } else if (root.contains("filter_list")) {
    t.filter = parse_filter_list(root["filter_list"], fmt::format("{}: filter_list", what));
  }
  if (root.contains("judge")) {
    if (t.output_type != OutputType::kJudge)
      fail_input("{}: field 'judge' is only for output_type judge", what);
    t.judge = parse_judge(root["judge"], what);
  } else if (t.output_type == OutputType::kJudge) {
    fail_input("{}: output_type judge needs a 'judge' mapping", what);
  }
  return t;
}

TaskSpec load_task_file(const fs::path& path) {
  nlohmann::json value = read_yaml_file(path);
  return parse_task(value, fs::absolute(path).parent_path(), path.string());
}

nlohmann::json task_to_json(const TaskSpec& t) {
  nlohmann::json j;
  j["task"] = t.name;
  if (!t.dataset.ref.empty()) {
    j["dataset"] = {{"ref", t.dataset.ref}, {"split", t.dataset.split}};
  } else {
    j["dataset"] = {{"path", t.dataset.path.string()}, {"split", t.dataset.split}};
  }
  if (!t.dataset.fewshot_split.empty()) j["dataset"]["fewshot_split"] = t.dataset.fewshot_split;
  j["output_type"] = to_string(t.output_type);
  if (!t.description.empty()) j["description"] = t.description;
  if (!t.doc_to_text.empty()) j["doc_to_text"] = t.doc_to_text;
  if (!t.doc_to_target.is_null()) j["doc_to_target"] = t.doc_to_target;
  if (!t.doc_to_choice.is_null()) j["doc_to_choice"] = t.doc_to_choice;
  j["target_delimiter"] = t.target_delimiter;
  j["fewshot_delimiter"] = t.fewshot_delimiter;
  j["num_fewshot"] = t.num_fewshot;
  j["fewshot_seed"] = t.fewshot_seed;
  if (t.limit) j["limit"] = *t.limit;
  if (t.chat_template) j["chat_template"] = true;
  const GenerationSpec& g = t.generation;
  if (t.output_type == OutputType::kGenerateUntil ||
      t.output_type == OutputType::kInstructionFollowing || t.output_type == OutputType::kJudge) {
    nlohmann::json kw = {{"until", g.until}, {"max_gen_toks", g.max_gen_toks}};
    if (g.temperature > 0) {
      kw["do_sample"] = true;
      kw["temperature"] = g.temperature;
      kw["top_p"] = g.top_p;
      kw["seed"] = g.seed;
    }
    j["generation_kwargs"] = kw;
  }
  if (!t.metrics.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const MetricSpec& m : t.metrics) {
      nlohmann::json e = {{"metric", m.name}};
      if (m.match.ignore_case) e["ignore_case"] = true;
      if (m.match.ignore_punctuation) e["ignore_punctuation"] = true;
      if (m.match.ignore_whitespace) e["ignore_whitespace"] = true;
      if (!m.match.regexes_to_ignore.empty()) e["regexes_to_ignore"] = m.match.regexes_to_ignore;
      if (!m.pattern.empty()) e["pattern"] = m.pattern;
      list.push_back(e.size() == 1 ? nlohmann::json(m.name) : e);
    }
    j["metric_list"] = list;
  }
  if (!t.filter.empty()) {
    nlohmann::json steps = nlohmann::json::array();
    for (const FilterStep& s : t.filter) {
      switch (s.kind) {
        case FilterStep::Kind::kStrip:
          steps.push_back("strip");
          break;
        case FilterStep::Kind::kLowercase:
          steps.push_back("lowercase");
          break;
        case FilterStep::Kind::kUppercase:
          steps.push_back("uppercase");
          break;
        case FilterStep::Kind::kTakeFirstLine:
          steps.push_back("take_first_line");
          break;
        case FilterStep::Kind::kRegex:
          steps.push_back({{"regex", s.pattern}, {"group", s.group}});
          break;
      }
    }
    j["filter"] = steps;
  }
  if (t.output_type == OutputType::kJudge) {
    const JudgeSpec& s = t.judge;
    nlohmann::json judge = {{"mode", s.pairwise ? "pairwise" : "single"},
                            {"min_score", s.min_score},
                            {"max_score", s.max_score},
                            {"max_tokens", s.max_tokens},
                            {"timeout_s", s.timeout_s}};
    if (!s.model.empty()) judge["model"] = s.model;
    if (!s.url.empty()) judge["url"] = s.url;
    if (!s.api_model.empty()) judge["api_model"] = s.api_model;
    if (!s.api_key_env.empty()) judge["api_key_env"] = s.api_key_env;
    if (!s.rubric.empty()) judge["rubric"] = s.rubric;
    if (!s.reference.empty()) judge["reference"] = s.reference;
    if (!s.score_regex.empty()) judge["score_regex"] = s.score_regex;
    j["judge"] = judge;
  }
  return j;
}

std::vector<MetricSpec> effective_metrics(const TaskSpec& task) {
  if (!task.metrics.empty()) return task.metrics;
  switch (task.output_type) {
    case OutputType::kMultipleChoice:
      return {{.name = "acc"}, {.name = "acc_norm"}};
    case OutputType::kLoglikelihood:
      return {{.name = "perplexity"}, {.name = "acc"}, {.name = "bits_per_byte"}};
    case OutputType::kPerplexity:
      return {{.name = "perplexity"}, {.name = "bits_per_byte"}};
    case OutputType::kGenerateUntil:
      return {{.name = "exact_match"}};
    case OutputType::kInstructionFollowing:
      return {{.name = "prompt_level_strict_acc"},
              {.name = "inst_level_strict_acc"},
              {.name = "prompt_level_loose_acc"},
              {.name = "inst_level_loose_acc"}};
    case OutputType::kJudge:
      if (task.judge.pairwise) return {{.name = "win_rate"}, {.name = "judge_invalid"}};
      return {{.name = "score_norm"}, {.name = "score"}, {.name = "judge_invalid"}};
  }
  return {};
}

std::string apply_filter(const std::vector<FilterStep>& filter, std::string_view text) {
  if (filter.empty()) return strip(text);
  std::string out(text);
  for (const FilterStep& step : filter) {
    switch (step.kind) {
      case FilterStep::Kind::kStrip:
        out = strip(out);
        break;
      case FilterStep::Kind::kLowercase:
        out = to_lower(out);
        break;
      case FilterStep::Kind::kUppercase:
        out = to_upper(out);
        break;
      case FilterStep::Kind::kTakeFirstLine:
        out = out.substr(0, out.find('\n'));
        break;
      case FilterStep::Kind::kRegex: {
        re2::RE2 re(step.pattern);
        const int n_args = re.NumberOfCapturingGroups() + 1;
        std::vector<re2::StringPiece> groups(static_cast<std::size_t>(n_args));
        if (re.Match(out, 0, out.size(), re2::RE2::UNANCHORED, groups.data(), n_args)) {
          out = std::string(groups[static_cast<std::size_t>(step.group)]);
        } else {
          out.clear();  // no answer found: scored as an empty answer, as lm-eval's "[invalid]"
        }
        break;
      }
    }
  }
  return out;
}

}  // namespace enclave::eval
