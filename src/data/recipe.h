// Recipes: a chain of data steps in one YAML file, run by `enclave data run`.
//
//   output: corpus            # every step writes a new version of this name
//   input: raw@2              # where the chain starts (omit when it starts with ingest)
//   threads: 8                # optional
//   steps:
//     - ingest: {paths: [docs/], field: text}
//     - normalize             # a step with default settings
//     - filter: {min_words: 20, keep_rejected: true, script_min: {hangul: 0.3}}
//     - dedup: {threshold: 0.8}
//     - pii: {mode: redact}
//     - split: {train: 0.9, validation: 0.05, test: 0.05}
//     - format: {to: text}
//
// Each step's output is the next step's input; each version's report names
// the recipe file, the step's place in it and the whole recipe, so a version
// says how it was made. Relative paths in settings (paths, eval, word files,
// tokenizer folders) are relative to the recipe file.
// Thread safety: run_recipe runs steps one after another on the caller's thread.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "data/steps.h"

namespace enclave::data {

struct RecipeStep {
  std::string step;
  nlohmann::json params = nlohmann::json::object();
};

struct Recipe {
  std::string output;
  std::string input;  // empty when the first step is ingest
  int threads = 0;
  std::vector<RecipeStep> steps;
  nlohmann::json source;  // the recipe as parsed, stored in every report
};

// Parses recipe YAML (or JSON). `what` names the file in errors. Throws
// Error(kInvalidInput) for invalid YAML (duplicate keys, aliases expanding
// past a limit, nesting too deep), unknown keys or steps, a missing output,
// a chain that has no input, and ingest anywhere but first.
Recipe parse_recipe(std::string_view text, std::string_view what);
Recipe read_recipe(const std::filesystem::path& path);

struct RecipeRunOptions {
  std::string workspace;
  int threads = 0;  // overrides the recipe's when > 0
  bool show_progress = false;
  std::vector<std::string> command;
};

// Runs the steps in order; returns every step's result. A failing step
// throws (earlier versions stay recorded; the failed run is marked failed).
std::vector<StepResult> run_recipe(const Recipe& recipe, const std::filesystem::path& file,
                                   const RecipeRunOptions& options);

}  // namespace enclave::data
