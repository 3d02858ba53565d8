#include "data/recipe.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <charconv>

#include "core/error.h"
#include "core/file.h"

namespace enclave::data {

namespace {

constexpr int kMaxDepth = 32;
constexpr std::int64_t kMaxNodes = 100000;

// YAML to JSON for recipes. TODO(lead): merge/yaml_json.h does the same for
// merge configs; it belongs in core, and this should then call it.
class YamlToJson {
 public:
  explicit YamlToJson(std::string_view what) : what_(what) {}

  nlohmann::json convert(const YAML::Node& node, int depth) {
    if (++n_nodes_ > kMaxNodes)
      fail_input("{}: expands to more than {} nodes (aliases?)", what_, kMaxNodes);
    if (depth > kMaxDepth)
      fail_input("{}: line {}: nested deeper than {} levels", what_, node.Mark().line + 1,
                 kMaxDepth);
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return nullptr;
      case YAML::NodeType::Scalar:
        return node.Tag() == "!" ? nlohmann::json(node.Scalar()) : plain(node.Scalar());
      case YAML::NodeType::Sequence: {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& item : node) out.push_back(convert(item, depth + 1));
        return out;
      }
      case YAML::NodeType::Map: {
        nlohmann::json out = nlohmann::json::object();
        for (const auto& item : node) {
          if (!item.first.IsScalar())
            fail_input("{}: line {}: keys must be strings", what_, item.first.Mark().line + 1);
          const std::string key = item.first.Scalar();
          if (out.contains(key))
            fail_input("{}: line {}: duplicate key '{}'", what_, item.first.Mark().line + 1, key);
          out[key] = convert(item.second, depth + 1);
        }
        return out;
      }
    }
    return nullptr;
  }

 private:
  static nlohmann::json plain(const std::string& s) {
    if (s.empty() || s == "~" || s == "null") return nullptr;
    if (s == "true") return true;
    if (s == "false") return false;
    std::int64_t i = 0;
    if (auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
        ec == std::errc() && end == s.data() + s.size()) {
      return i;
    }
    double d = 0;
    if (auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
        ec == std::errc() && end == s.data() + s.size()) {
      return d;
    }
    return s;
  }

  std::string_view what_;
  std::int64_t n_nodes_ = 0;
};

nlohmann::json load_yaml(std::string_view text, std::string_view what) {
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(std::string(text));
    if (docs.size() != 1) fail_input("{}: expected one YAML document, found {}", what, docs.size());
    return YamlToJson(what).convert(docs[0], 0);
  } catch (const YAML::Exception& e) {
    fail_input("{}: line {}: invalid YAML: {}", what, e.mark.line + 1, e.msg);
  }
}

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
  const nlohmann::json j = load_yaml(text, what);
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
