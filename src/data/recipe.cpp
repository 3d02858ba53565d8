#include "data/recipe.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"
#include "core/file.h"
#include "core/yaml.h"

namespace enclave::data {

namespace {

// A recipe is a short hand-written list of steps; these bounds are far above
// any real one and far below what could hurt.
constexpr YamlLimits kRecipeLimits{.max_depth = 32, .max_nodes = 100'000};

// Settings that name files, made relative to the recipe's folder.
void resolve_paths(nlohmann::json& params, const std::filesystem::path& base) {
  auto fix = [&](nlohmann::json& v) {
    if (v.is_string() && std::filesystem::path(v.get<std::string>()).is_relative()) {
      v = (base / v.get<std::string>()).lexically_normal().string();
    }
  };
  for (const char* key : {"paths", "eval"}) {
    if (params.contains(key) && params[key].is_array()) {
      for (auto& p : params[key]) fix(p);
    }
  }
  for (const char* key : {"required_words_file", "blocked_words_file"}) {
    if (params.contains(key)) fix(params[key]);
  }
  if (params.contains("tokenizer") && params["tokenizer"].is_string()) {
    const auto candidate = base / params["tokenizer"].get<std::string>();
    if (std::filesystem::is_directory(candidate))
      params["tokenizer"] = candidate.lexically_normal().string();
  }
}

}  // namespace

Recipe parse_recipe(std::string_view text, std::string_view what) {
  const nlohmann::json j = parse_yaml(text, what, kRecipeLimits);
  if (!j.is_object()) fail_input("{}: a recipe is a mapping with 'output' and 'steps'", what);
  Recipe r;
  r.source = j;
  for (const auto& [key, value] : j.items()) {
    if (key == "output" || key == "input") {
      if (!value.is_string() || value.get<std::string>().empty())
        fail_input("{}: '{}' must be a name", what, key);
      (key == "output" ? r.output : r.input) = value.get<std::string>();
    } else if (key == "threads") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 0)
        fail_input("{}: 'threads' must be >= 0", what);
      r.threads = value.get<int>();
    } else if (key == "steps") {
      if (!value.is_array() || value.empty())
        fail_input("{}: 'steps' must list at least one step", what);
      for (std::size_t i = 0; i < value.size(); ++i) {
        const auto& item = value[i];
        RecipeStep step;
        if (item.is_string()) {
          step.step = item.get<std::string>();
        } else if (item.is_object() && item.size() == 1) {
          step.step = item.begin().key();
          const auto& params = item.begin().value();
          if (!params.is_null() && !params.is_object()) {
            fail_input("{}: steps[{}] ({}): settings must be a mapping", what, i, step.step);
          }
          if (params.is_object()) step.params = params;
        } else {
          fail_input("{}: steps[{}]: expected a step name or {{step: {{settings}}}}", what, i);
        }
        const auto& names = step_names();
        if (std::find(names.begin(), names.end(), step.step) == names.end()) {
          fail_input("{}: steps[{}]: unknown step '{}' (expected {})", what, i, step.step,
                     fmt::join(names, ", "));
        }
        if (step.step == "ingest" && i != 0)
          fail_input("{}: steps[{}]: ingest can only be the first step", what, i);
        r.steps.push_back(std::move(step));
      }
    } else {
      fail_input("{}: unknown key '{}' (expected output, input, threads, steps)", what, key);
    }
  }
  if (r.output.empty()) fail_input("{}: 'output' (the dataset name to write) is required", what);
  if (r.steps.empty()) fail_input("{}: 'steps' is required", what);
  const bool starts_with_ingest = r.steps.front().step == "ingest";
  if (starts_with_ingest && !r.input.empty())
    fail_input("{}: 'input' and a first ingest step exclude each other", what);
  if (!starts_with_ingest && r.input.empty())
    fail_input("{}: 'input' is required unless the first step is ingest", what);
  return r;
}

Recipe read_recipe(const std::filesystem::path& path) {
  return parse_recipe(read_file(path, std::uint64_t{1} << 20), path.string());
}

std::vector<StepResult> run_recipe(const Recipe& recipe, const std::filesystem::path& file,
                                   const RecipeRunOptions& options) {
  std::vector<StepResult> results;
  const std::filesystem::path base = std::filesystem::absolute(file).parent_path();
  std::string input = recipe.input;
  for (std::size_t i = 0; i < recipe.steps.size(); ++i) {
    StepRequest request;
    request.step = recipe.steps[i].step;
    request.params = recipe.steps[i].params;
    resolve_paths(request.params, base);
    request.input = input;
    request.output = recipe.output;
    request.workspace = options.workspace;
    request.threads = options.threads > 0 ? options.threads : recipe.threads;
    request.show_progress = options.show_progress;
    request.command = options.command;
    request.recipe = {{"file", std::filesystem::absolute(file).lexically_normal().string()},
                      {"step_index", i},
                      {"steps", recipe.source}};
    results.push_back(run_step(request));
    input = results.back().version.ref();
  }
  return results;
}

}  // namespace enclave::data
