// `enclave data ingest|normalize|filter|dedup|pii|decontaminate|split|format|run`:
// flags become the step's params (the same keys a recipe uses, see
// data/steps.h); --set KEY=VALUE reaches any setting without a flag of its own.
#include <fmt/format.h>

#include <deque>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "core/program.h"
#include "data/dataset_store.h"
#include "data/recipe.h"
#include "data/steps.h"
#include "store/workspace.h"

namespace enclave::cli {
namespace {

// Step settings gathered from flags; only flags given on the command line
// become params, so the step's own defaults (recorded in its report) apply.
class ParamFlags {
 public:
  void number(CLI::App* cmd, const std::string& flag, const std::string& key,
              const std::string& help) {
    auto* value = &numbers_.emplace_back();
    CLI::Option* opt = cmd->add_option(flag, *value, help);
    apply_.push_back([=](nlohmann::json& p) {
      if (opt->count() > 0) p[key] = *value;
    });
  }
  void integer(CLI::App* cmd, const std::string& flag, const std::string& key,
               const std::string& help) {
    auto* value = &integers_.emplace_back();
    CLI::Option* opt = cmd->add_option(flag, *value, help);
    apply_.push_back([=](nlohmann::json& p) {
      if (opt->count() > 0) p[key] = *value;
    });
  }
  void text(CLI::App* cmd, const std::string& flag, const std::string& key, const std::string& help,
            bool required = false) {
    auto* value = &texts_.emplace_back();
    CLI::Option* opt = cmd->add_option(flag, *value, help);
    if (required) opt->required();
    apply_.push_back([=](nlohmann::json& p) {
      if (opt->count() > 0) p[key] = *value;
    });
  }
  // Repeatable, and comma-separated values split: --types email,rrn --types ip.
  void list(CLI::App* cmd, const std::string& flag, const std::string& key, const std::string& help,
            bool required = false) {
    auto* value = &lists_.emplace_back();
    CLI::Option* opt = cmd->add_option(flag, *value, help)->delimiter(',');
    if (required) opt->required();
    apply_.push_back([=](nlohmann::json& p) {
      if (opt->count() > 0) p[key] = *value;
    });
  }
  // A boolean setting that the flag sets to `when_given`.
  void flag(CLI::App* cmd, const std::string& flag, const std::string& key, bool when_given,
            const std::string& help) {
    CLI::Option* opt = cmd->add_flag(flag, help);
    apply_.push_back([=](nlohmann::json& p) {
      if (opt->count() > 0) p[key] = when_given;
    });
  }
  // SCRIPT=RATIO pairs into an object: --min-script hangul=0.5.
  void ratios(CLI::App* cmd, const std::string& flag, const std::string& key,
              const std::string& help) {
    auto* value = &lists_.emplace_back();
    CLI::Option* opt = cmd->add_option(flag, *value, help);
    apply_.push_back([=](nlohmann::json& p) {
      if (opt->count() == 0) return;
      for (const auto& item : *value) {
        const auto eq = item.find('=');
        if (eq == std::string::npos) fail_input("{} {}: expected SCRIPT=RATIO", flag, item);
        p[key][item.substr(0, eq)] = parse_value(item.substr(eq + 1));
      }
    });
  }
  void common(CLI::App* cmd) {
    cmd->add_option("--set", sets_,
                    "Any step setting as KEY=VALUE (VALUE in JSON, else a string); repeatable");
  }

  nlohmann::json params() const {
    nlohmann::json p = nlohmann::json::object();
    for (const auto& f : apply_) f(p);
    for (const auto& item : sets_) {
      const auto eq = item.find('=');
      if (eq == std::string::npos || eq == 0) fail_input("--set {}: expected KEY=VALUE", item);
      p[item.substr(0, eq)] = parse_value(item.substr(eq + 1));
    }
    return p;
  }

 private:
  static nlohmann::json parse_value(const std::string& text) {
    nlohmann::json v = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    return v.is_discarded() ? nlohmann::json(text) : v;
  }

  std::deque<double> numbers_;
  std::deque<std::int64_t> integers_;
  std::deque<std::string> texts_;
  std::deque<std::vector<std::string>> lists_;
  std::vector<std::string> sets_;
  std::vector<std::function<void(nlohmann::json&)>> apply_;
};

struct StepFlags {
  std::string step;
  std::string workspace;
  std::string in;
  std::string out;
  std::vector<std::string> paths;  // ingest
  int threads = 0;
  bool json = false;
  ParamFlags params;
};

void print_result(const data::StepResult& r, bool json) {
  if (json) {
    nlohmann::json j = {{"version", r.version.ref()}, {"run_id", r.run_id}, {"report", r.report}};
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << data::format_step_summary(r) << "\n";
  if (r.report.contains("skipped_files")) {
    for (const auto& s : r.report["skipped_files"]) {
      std::cout << fmt::format("  skipped {}: {}\n", s.value("path", std::string()),
                               s.value("reason", std::string()));
    }
  }
}

CLI::App* add_step(CLI::App& parent, const std::string& step, const std::string& help,
                   const std::shared_ptr<StepFlags>& flags) {
  flags->step = step;
  CLI::App* cmd = parent.add_subcommand(step, help);
  if (step == "ingest") {
    cmd->add_option("paths", flags->paths, "Files and folders to read (recursively)")->required();
  } else {
    cmd->add_option("--in", flags->in, "Input dataset: NAME, NAME@VERSION or NAME:ALIAS")
        ->required();
  }
  cmd->add_option("--out", flags->out, "Dataset name the new version is recorded under")
      ->required();
  cmd->add_option("--threads", flags->threads, "Worker threads (default: every core)");
  add_workspace_flag(*cmd, flags->workspace);
  cmd->add_flag("--json", flags->json, "Print the new version and its report as JSON");
  flags->params.common(cmd);
  cmd->callback([flags] {
    nlohmann::json params = flags->params.params();
    if (flags->step == "ingest") params["paths"] = flags->paths;
    data::StepRequest request{.step = flags->step,
                              .params = params,
                              .input = flags->in,
                              .output = flags->out,
                              .workspace = workspace_flag(flags->workspace),
                              .threads = flags->threads,
                              .show_progress = !flags->json,
                              .command = program_identity().argv};
    print_result(data::run_step(request), flags->json);
  });
  return cmd;
}

struct RunFlags {
  std::string recipe;
  std::string workspace;
  int threads = 0;
  bool json = false;
};

}  // namespace

nlohmann::json dataset_report_json(const std::string& workspace, const std::string& ref) {
  store::Workspace ws(workspace_root(workspace));
  auto report = data::read_dataset_report(ws, ref);
  return report ? *report : nlohmann::json();
}

std::string dataset_report_text(const std::string& workspace, const std::string& ref) {
  const nlohmann::json report = dataset_report_json(workspace, ref);
  return report.is_null() ? "" : data::format_dataset_report(report);
}

void register_data(CLI::App& app) {
  CLI::App* data_cmd = app.add_subcommand(
      "data",
      "Prepare training data: ingest documents, clean, deduplicate, scrub PII, split and format; "
      "every step writes a new dataset version");
  data_cmd->require_subcommand(1);

  auto ingest = std::make_shared<StepFlags>();
  CLI::App* c = add_step(*data_cmd, "ingest",
                         "Read .txt .md .jsonl .pdf .docx .html files into a dataset", ingest);
  ingest->params.text(c, "--field", "field",
                      "JSONL field holding the text (dotted path; default text)");
  ingest->params.number(c, "--pdf-timeout", "pdf_timeout_s",
                        "Seconds allowed per PDF (default 60)");
  ingest->params.integer(c, "--max-file-mb", "max_file_mb",
                         "Skip files larger than this (default 1024)");

  auto normalize = std::make_shared<StepFlags>();
  c = add_step(*data_cmd, "normalize",
               "Unicode NFKC, control characters, whitespace, invalid UTF-8", normalize);
  normalize->params.flag(c, "--no-nfkc", "nfkc", false, "Keep compatibility characters");
  normalize->params.flag(c, "--no-controls", "controls", false,
                         "Keep control and invisible characters");
  normalize->params.flag(c, "--no-whitespace", "whitespace", false, "Keep whitespace as it is");

  auto filter = std::make_shared<StepFlags>();
  c = add_step(*data_cmd, "filter", "Drop low-quality documents by heuristic rules (Gopher-style)",
               filter);
  filter->params.flag(c, "--keep-rejected", "keep_rejected", true,
                      "Write removed documents with their rule");
  filter->params.number(c, "--min-chars", "min_chars", "Minimum characters");
  filter->params.number(c, "--max-chars", "max_chars", "Maximum characters");
  filter->params.number(c, "--min-words", "min_words", "Minimum words");
  filter->params.number(c, "--max-words", "max_words", "Maximum words");
  filter->params.ratios(c, "--min-script", "script_min",
                        "Minimum share of letters in a script: hangul=0.5");
  filter->params.ratios(c, "--max-script", "script_max",
                        "Maximum share of letters in a script: han=0.3");
  filter->params.text(c, "--required-words", "required_words_file",
                      "File of words (one a line) documents need");
  filter->params.integer(c, "--min-required-words", "min_required_words",
                         "How many listed words a document needs");
  filter->params.text(c, "--blocked-words", "blocked_words_file",
                      "File of words (one a line) that remove a document");
  filter->params.integer(c, "--max-blocked-words", "max_blocked_words",
                         "Listed words allowed (default 0)");

  auto dedup = std::make_shared<StepFlags>();
  c = add_step(*data_cmd, "dedup",
               "Remove exact and near duplicates (MinHash + LSH), keeping the first", dedup);
  dedup->params.flag(c, "--exact-only", "near", false, "Exact duplicates only");
  dedup->params.flag(c, "--near-only", "exact", false, "Near duplicates only");
  dedup->params.integer(c, "--num-perm", "num_perm", "MinHash permutations (default 128)");
  dedup->params.integer(c, "--bands", "bands", "LSH bands; must divide --num-perm (default 16)");
  dedup->params.number(c, "--threshold", "threshold",
                       "Estimated Jaccard similarity that makes a duplicate (0.8)");
  dedup->params.text(c, "--shingle", "shingle", "char or word n-grams (default char)");
  dedup->params.integer(c, "--ngram", "ngram", "Shingle size (default 5)");
  dedup->params.integer(c, "--seed", "seed", "Permutation seed (default 42)");

  auto pii = std::make_shared<StepFlags>();
  c = add_step(*data_cmd, "pii",
               "Find and replace e-mails, phones, RRNs, BRNs, cards, IPs, accounts", pii);
  pii->params.text(c, "--mode", "mode",
                   "redact (typed placeholders), drop (the document) or report");
  pii->params.list(c, "--types", "types", "Only these: email,phone,rrn,brn,card,ip,account");
  pii->params.number(c, "--min-confidence", "min_confidence",
                     "Matches below this confidence are ignored (0.5)");

  auto decon = std::make_shared<StepFlags>();
  c = add_step(*data_cmd, "decontaminate",
               "Drop documents sharing long n-grams with evaluation sets", decon);
  decon->params.list(c, "--eval", "eval",
                     "Evaluation file (.jsonl: every string; else the text); repeatable",
                     /*required=*/true);
  decon->params.integer(c, "--ngram", "ngram", "Words per n-gram (default 13)");
  decon->params.integer(c, "--min-short-words", "min_short_words",
                        "Shorter eval texts count whole from this size (8)");

  auto split = std::make_shared<StepFlags>();
  c = add_step(*data_cmd, "split", "Deterministic train/validation/test split by hash", split);
  split->params.number(c, "--train", "train", "Fraction for train.jsonl (default 0.9)");
  split->params.number(c, "--validation", "validation",
                       "Fraction for validation.jsonl (default 0.05)");
  split->params.number(c, "--test", "test", "Fraction for test.jsonl (default 0.05)");
  split->params.text(c, "--seed", "seed", "Seed string of the hash (default enclave)");
  split->params.text(c, "--key", "key", "Hash the id (default) or the text");

  auto format = std::make_shared<StepFlags>();
  c = add_step(*data_cmd, "format", "Write training records (TRL formats), validating every row",
               format);
  format->params.text(c, "--to", "to",
                      "text, messages, prompt/completion or prompt/chosen/rejected",
                      /*required=*/true);
  format->params.text(c, "--tokenizer", "tokenizer",
                      "Model folder or registered model whose tokenizer counts tokens");
  format->params.integer(c, "--max-tokens", "max_tokens", "Rows longer than this are invalid");
  format->params.integer(c, "--min-tokens", "min_tokens", "Rows shorter than this are invalid");

  auto run = std::make_shared<RunFlags>();
  CLI::App* run_cmd =
      data_cmd->add_subcommand("run", "Run a recipe: a chain of steps in a YAML file");
  run_cmd->add_option("recipe", run->recipe, "Recipe file (YAML)")->required();
  run_cmd->add_option("--threads", run->threads,
                      "Worker threads (default: the recipe's, else every core)");
  add_workspace_flag(*run_cmd, run->workspace);
  run_cmd->add_flag("--json", run->json, "Print every version and report as JSON");
  run_cmd->callback([run] {
    const data::Recipe recipe = data::read_recipe(run->recipe);
    auto results = data::run_recipe(recipe, run->recipe,
                                    {.workspace = workspace_flag(run->workspace),
                                     .threads = run->threads,
                                     .show_progress = !run->json,
                                     .command = program_identity().argv});
    if (run->json) {
      nlohmann::json all = nlohmann::json::array();
      for (const auto& r : results)
        all.push_back({{"version", r.version.ref()}, {"run_id", r.run_id}, {"report", r.report}});
      std::cout << all.dump(2) << "\n";
    } else {
      for (const auto& r : results) print_result(r, false);
    }
  });
}

}  // namespace enclave::cli
