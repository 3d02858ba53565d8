#include "merge/merge_config.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <array>

#include "core/error.h"
#include "core/yaml.h"

namespace enclave::merge {
namespace {

using nlohmann::json;

struct MethodSpec {
  MergeMethod method;
  std::string_view name;
  std::vector<std::string_view> numeric;   // per-tensor or global numbers
  std::vector<std::string_view> switches;  // top-level on/off
};

const std::vector<MethodSpec>& method_specs() {
  static const std::vector<MethodSpec> kSpecs = {
      {MergeMethod::kLinear, "linear", {"weight"}, {"normalize"}},
      {MergeMethod::kSlerp, "slerp", {"t"}, {}},
      {MergeMethod::kTaskArithmetic,
       "task_arithmetic",
       {"weight", "lambda"},
       {"normalize", "int8_mask"}},
      {MergeMethod::kTies,
       "ties",
       {"weight", "density", "lambda"},
       {"normalize", "rescale", "int8_mask"}},
      {MergeMethod::kDareTies,
       "dare_ties",
       {"weight", "density", "lambda"},
       {"normalize", "rescale", "int8_mask"}},
      {MergeMethod::kDareLinear,
       "dare_linear",
       {"weight", "density", "lambda"},
       {"normalize", "rescale", "int8_mask"}},
      {MergeMethod::kPassthrough, "passthrough", {"scale"}, {}},
  };
  return kSpecs;
}

const MethodSpec& spec_of(MergeMethod method) {
  for (const auto& s : method_specs()) {
    if (s.method == method) return s;
  }
  ENCLAVE_CHECK(false);
}

bool contains(const std::vector<std::string_view>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string known_parameters(const MethodSpec& spec) {
  std::vector<std::string_view> all = spec.numeric;
  all.insert(all.end(), spec.switches.begin(), spec.switches.end());
  return fmt::format("{}", fmt::join(all, ", "));
}

void check_keys(const json& obj, std::initializer_list<std::string_view> known,
                std::string_view what, std::string_view field) {
  for (const auto& [key, value] : obj.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      const std::string where = field.empty() ? key : fmt::format("{}.{}", field, key);
      fail_input("{}: unknown field '{}' (expected one of: {})", what, where,
                 fmt::join(known, ", "));
    }
  }
}

const json& require_object(const json& v, std::string_view what, std::string_view field) {
  if (!v.is_object())
    fail_input("{}: field '{}': expected a mapping, got {}", what, field, v.type_name());
  return v;
}

std::string require_string(const json& v, std::string_view what, std::string_view field) {
  if (!v.is_string())
    fail_input("{}: field '{}': expected a string, got {}", what, field, v.type_name());
  std::string s = v.get<std::string>();
  if (s.empty()) fail_input("{}: field '{}': must not be empty", what, field);
  return s;
}

void check_range(const ParameterSetting& setting, double lo, double hi, std::string_view what,
                 std::string_view field) {
  for (double v : all_values(setting)) {
    if (v < lo || v > hi)
      fail_input("{}: field '{}': {} is outside [{}, {}]", what, field, v, lo, hi);
  }
}

Parameters parse_parameters(const json& v, const MethodSpec& spec, std::string_view what,
                            const std::string& field, bool top_level) {
  Parameters out;
  if (v.is_null()) return out;
  require_object(v, what, field);
  for (const auto& [name, value] : v.items()) {
    const std::string item = field + "." + name;
    if (contains(spec.switches, name)) {
      if (!top_level) {
        fail_input(
            "{}: field '{}': '{}' switches the whole merge; set it in the top-level 'parameters'",
            what, item, name);
      }
      if (!value.is_boolean())
        fail_input("{}: field '{}': expected true or false, got {}", what, item, value.type_name());
      out.switches[name] = value.get<bool>();
    } else if (contains(spec.numeric, name)) {
      ParameterSetting setting = parse_setting(value, what, item);
      if (name == "density") check_range(setting, 0.0, 1.0, what, item);
      if (name == "t") check_range(setting, 0.0, 1.0, what, item);
      out.numeric[name] = std::move(setting);
    } else {
      fail_input("{}: field '{}': unknown parameter for merge_method '{}' (known: {})", what, item,
                 spec.name, known_parameters(spec));
    }
  }
  return out;
}

std::pair<std::int64_t, std::int64_t> parse_layer_range(const json& v, std::string_view what,
                                                        std::string_view field) {
  if (!v.is_array() || v.size() != 2 || !v[0].is_number_integer() || !v[1].is_number_integer()) {
    fail_input("{}: field '{}': expected two integers [begin, end), got {}", what, field, v.dump());
  }
  const std::int64_t begin = v[0].get<std::int64_t>();
  const std::int64_t end = v[1].get<std::int64_t>();
  if (begin < 0) fail_input("{}: field '{}': begin {} is negative", what, field, begin);
  if (end <= begin)
    fail_input("{}: field '{}': end {} must be greater than begin {}", what, field, end, begin);
  return {begin, end};
}

SourceSpec parse_source(const json& v, const MethodSpec& spec, std::string_view what,
                        const std::string& field, bool in_slice) {
  SourceSpec s;
  if (v.is_string()) {
    // mergekit also accepts a bare model name in `models:`.
    if (in_slice)
      fail_input("{}: field '{}': a slice source needs 'model' and 'layer_range'", what, field);
    s.model = require_string(v, what, field);
    return s;
  }
  require_object(v, what, field);
  if (in_slice) {
    check_keys(v, {"model", "layer_range", "parameters"}, what, field);
  } else {
    check_keys(v, {"model", "parameters"}, what, field);
  }
  if (!v.contains("model") || v["model"].is_null())
    fail_input("{}: field '{}': missing 'model'", what, field);
  s.model = require_string(v["model"], what, field + ".model");
  if (in_slice) {
    if (!v.contains("layer_range"))
      fail_input("{}: field '{}': missing 'layer_range'", what, field);
    s.layer_range = parse_layer_range(v["layer_range"], what, field + ".layer_range");
  }
  if (v.contains("parameters"))
    s.parameters = parse_parameters(v["parameters"], spec, what, field + ".parameters", false);
  return s;
}

}  // namespace

std::string_view method_name(MergeMethod method) { return spec_of(method).name; }

std::optional<MergeMethod> method_from_name(std::string_view name) {
  for (const auto& s : method_specs()) {
    if (s.name == name) return s.method;
  }
  return std::nullopt;
}

bool is_task_arithmetic(MergeMethod method) {
  return method == MergeMethod::kTaskArithmetic || method == MergeMethod::kTies ||
         method == MergeMethod::kDareTies || method == MergeMethod::kDareLinear;
}

std::optional<DType> storage_dtype_from_name(std::string_view name) {
  if (name == "float32" || name == "f32" || name == "fp32") return DType::kF32;
  if (name == "bfloat16" || name == "bf16") return DType::kBF16;
  if (name == "float16" || name == "f16" || name == "fp16" || name == "half") return DType::kF16;
  return std::nullopt;
}

std::string_view torch_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "float32";
    case DType::kBF16:
      return "bfloat16";
    case DType::kF16:
      return "float16";
    case DType::kF64:
      return "float64";
    default:
      return "";
  }
}

MergeConfig parse_merge_config(const json& doc, std::string_view what) {
  if (!doc.is_object())
    fail_input("{}: expected a mapping at the top level, got {}", what, doc.type_name());
  for (const char* unsupported : {"modules", "tokenizer", "chat_template"}) {
    if (doc.contains(unsupported)) {
      fail(ErrorKind::kUnsupported,
           "{}: field '{}': not supported by Enclave's merge (use models/slices and "
           "tokenizer_source)",
           what, unsupported);
    }
  }
  check_keys(doc,
             {"merge_method", "base_model", "models", "slices", "parameters", "dtype", "out_dtype",
              "tokenizer_source"},
             what, "");

  MergeConfig c;
  if (!doc.contains("merge_method") || doc["merge_method"].is_null()) {
    fail_input(
        "{}: missing field 'merge_method' (one of: linear, slerp, task_arithmetic, ties, "
        "dare_ties, "
        "dare_linear, passthrough)",
        what);
  }
  const std::string method = require_string(doc["merge_method"], what, "merge_method");
  auto parsed = method_from_name(method);
  if (!parsed) {
    fail_input(
        "{}: field 'merge_method': unknown method '{}' (expected one of: linear, slerp, "
        "task_arithmetic, ties, "
        "dare_ties, dare_linear, passthrough)",
        what, method);
  }
  c.method = *parsed;
  const MethodSpec& spec = spec_of(c.method);

  if (doc.contains("base_model") && !doc["base_model"].is_null()) {
    c.base_model = require_string(doc["base_model"], what, "base_model");
  }
  if ((c.method == MergeMethod::kSlerp || is_task_arithmetic(c.method)) && !c.base_model) {
    fail_input("{}: field 'base_model': required by merge_method '{}'", what, spec.name);
  }

  const bool has_models = doc.contains("models") && !doc["models"].is_null();
  const bool has_slices = doc.contains("slices") && !doc["slices"].is_null();
  if (has_models == has_slices) {
    fail_input("{}: exactly one of 'models' and 'slices' must be given, found {}", what,
               has_models ? "both" : "neither");
  }
  if (has_models) {
    const json& models = doc["models"];
    if (!models.is_array() || models.empty())
      fail_input("{}: field 'models': expected a non-empty list", what);
    for (std::size_t i = 0; i < models.size(); ++i) {
      c.models.push_back(
          parse_source(models[i], spec, what, fmt::format("models[{}]", i), /*in_slice=*/false));
    }
  } else {
    const json& slices = doc["slices"];
    if (!slices.is_array() || slices.empty())
      fail_input("{}: field 'slices': expected a non-empty list", what);
    for (std::size_t i = 0; i < slices.size(); ++i) {
      const std::string field = fmt::format("slices[{}]", i);
      require_object(slices[i], what, field);
      check_keys(slices[i], {"sources", "parameters"}, what, field);
      SliceSpec slice;
      const json sources = slices[i].value("sources", json());
      if (!sources.is_array() || sources.empty()) {
        fail_input("{}: field '{}.sources': expected a non-empty list", what, field);
      }
      for (std::size_t j = 0; j < sources.size(); ++j) {
        slice.sources.push_back(parse_source(
            sources[j], spec, what, fmt::format("{}.sources[{}]", field, j), /*in_slice=*/true));
      }
      if (slices[i].contains("parameters")) {
        slice.parameters =
            parse_parameters(slices[i]["parameters"], spec, what, field + ".parameters", false);
      }
      c.slices.push_back(std::move(slice));
    }
  }

  if (doc.contains("parameters"))
    c.parameters = parse_parameters(doc["parameters"], spec, what, "parameters", true);

  for (const char* key : {"dtype", "out_dtype"}) {
    if (!doc.contains(key) || doc[key].is_null()) continue;
    const std::string name = require_string(doc[key], what, key);
    auto dtype = storage_dtype_from_name(name);
    if (!dtype)
      fail_input("{}: field '{}': '{}' is not a storage dtype (float32, bfloat16, float16)", what,
                 key, name);
    // out_dtype names the stored dtype when both are given (mergekit: dtype is the compute dtype).
    if (std::string_view(key) == "out_dtype" || !c.dtype) c.dtype = dtype;
  }

  if (doc.contains("tokenizer_source") && !doc["tokenizer_source"].is_null()) {
    c.tokenizer_source = require_string(doc["tokenizer_source"], what, "tokenizer_source");
    if (*c.tokenizer_source == "union") {
      fail(ErrorKind::kUnsupported,
           "{}: field 'tokenizer_source': 'union' (merging vocabularies) is not supported; "
           "use 'base' or a model",
           what);
    }
  }
  return c;
}

MergeConfig load_merge_config(const std::filesystem::path& path) {
  return parse_merge_config(read_yaml_file(path), path.string());
}

json to_json(const MergeConfig& c) {
  auto source_json = [](const SourceSpec& s) {
    json out = {{"model", s.model}};
    if (s.layer_range) out["layer_range"] = {s.layer_range->first, s.layer_range->second};
    if (!s.parameters.numeric.empty()) out["parameters"] = to_json(s.parameters);
    return out;
  };
  json out = {{"merge_method", method_name(c.method)}};
  if (c.base_model) out["base_model"] = *c.base_model;
  if (!c.models.empty()) {
    out["models"] = json::array();
    for (const auto& m : c.models) out["models"].push_back(source_json(m));
  }
  if (!c.slices.empty()) {
    out["slices"] = json::array();
    for (const auto& s : c.slices) {
      json slice = {{"sources", json::array()}};
      for (const auto& src : s.sources) slice["sources"].push_back(source_json(src));
      if (!s.parameters.numeric.empty()) slice["parameters"] = to_json(s.parameters);
      out["slices"].push_back(slice);
    }
  }
  if (!c.parameters.numeric.empty() || !c.parameters.switches.empty())
    out["parameters"] = to_json(c.parameters);
  if (c.dtype) out["dtype"] = torch_dtype_name(*c.dtype);
  if (c.tokenizer_source) out["tokenizer_source"] = *c.tokenizer_source;
  return out;
}

}  // namespace enclave::merge
