// Data steps: each reads a dataset version (or, for ingest, files), writes a
// new version of the output name in the store with its parent, its params
// (and recipe, when run from one) and a report, under a "data" run. The CLI
// (`enclave data <step>`) and recipes (recipe.h) both come through run_step.
//
//   step           params (JSON object; unknown keys are errors)
//   ingest         paths [..], field "text", max_file_mb 1024, pdf_timeout_s 60, pdf_memory_mb 4096
//   normalize      form "safe"|"nfc"|"nfkc"|"none" (default safe; nfkc, a deprecated bool,
//                  false = nfc), controls, whitespace (bools, default true)
//   filter         quality_filter.h settings, keep_rejected (bool)
//   dedup          dedup.h settings: exact, near, num_perm, bands, threshold, shingle, ngram, seed
//   pii            mode "redact"|"drop"|"report", types [..], min_confidence 0.5
//   decontaminate  eval [files], ngram 13, min_short_words 8
//   split          train 0.9, validation 0.05, test 0.05, seed "enclave", key "id"|"text"
//   format         to (text|messages|prompt/completion|prompt/chosen/rejected), tokenizer,
//   max_tokens, min_tokens
//
// Thread safety: run_step opens its own workspace and worker pool; call it
// from one thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "store/registry.h"

namespace enclave::data {

struct StepRequest {
  std::string step;  // one of step_names()
  nlohmann::json params = nlohmann::json::object();
  std::string input;      // dataset reference; empty for ingest
  std::string output;     // dataset name the new version is recorded under
  std::string workspace;  // "" : $ENCLAVE_HOME or walk up from the current folder
  int threads = 0;        // 0: every core
  bool show_progress = false;
  std::vector<std::string> command;  // argv, for the run record
  nlohmann::json recipe;             // null, or {"file", "step_index", "steps"} from run_recipe
};

struct StepResult {
  store::VersionInfo version;
  std::int64_t run_id = 0;
  nlohmann::json report;
};

const std::vector<std::string_view>& step_names();

// Runs one step. Throws Error(kInvalidInput) for bad params (naming the step
// and key), Error(kNotFound) for a missing input or path; the run is then
// recorded as failed and no version is written.
StepResult run_step(const StepRequest& request);

// One line for the terminal: "corpus@3 (run 12, filter): 1000 -> 950 documents, removed
// min_words=30, ...".
std::string format_step_summary(const StepResult& result);

}  // namespace enclave::data
