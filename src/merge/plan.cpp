#include "merge/plan.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

#include "core/error.h"
#include "core/hash.h"
#include "core/json.h"
#include "model/float_convert.h"

namespace enclave::merge {
namespace fs = std::filesystem;

fs::path resolve_model_directory(const std::string& ref) {
  std::error_code ec;
  if (!fs::is_directory(ref, ec)) {
    fail(ErrorKind::kNotFound,
         "model '{}': no such directory (model names need a workspace: enclave init)", ref);
  }
  if (!fs::exists(fs::path(ref) / "config.json", ec)) {
    fail(ErrorKind::kNotFound, "model '{}': directory has no config.json", ref);
  }
  return ref;
}

namespace {

using nlohmann::json;

constexpr const char* kTokenizerFiles[] = {"tokenizer.json", "tokenizer.model"};

struct Source {
  std::size_t model = 0;
  std::int64_t layer_begin = 0;
  const Parameters* parameters = nullptr;
  std::string field;  // where the config names it, for errors
};

struct Slice {
  std::vector<Source> sources;
  const Parameters* parameters = nullptr;
  std::int64_t n_layers = 0;
  std::string field;
};

// The shape-defining fields two models must share to be merged.
std::vector<std::pair<std::string_view, std::string>> shape_fields(const ModelConfig& c) {
  return {{"architectures", c.architecture},
          {"vocab_size", std::to_string(c.vocab_size)},
          {"hidden_size", std::to_string(c.hidden_size)},
          {"intermediate_size", std::to_string(c.intermediate_size)},
          {"num_attention_heads", std::to_string(c.n_head)},
          {"num_key_value_heads", std::to_string(c.n_kv_head)},
          {"head_dim", std::to_string(c.head_dim)},
          {"tie_word_embeddings", c.tie_word_embeddings ? "true" : "false"},
          {"attention_bias (q/k/v)", c.qkv_bias ? "true" : "false"},
          {"attention_bias (o)", c.o_bias ? "true" : "false"},
          {"mlp_bias", c.mlp_bias ? "true" : "false"}};
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

std::string tokenizer_fingerprint(const fs::path& dir) {
  std::string out;
  for (const char* name : kTokenizerFiles) {
    std::error_code ec;
    out += fs::is_regular_file(dir / name, ec) ? sha256_file_hex(dir / name) : "-";
    out += ";";
  }
  return out;
}

bool has_tokenizer(const fs::path& dir) {
  std::error_code ec;
  for (const char* name : kTokenizerFiles) {
    if (fs::is_regular_file(dir / name, ec)) return true;
  }
  return false;
}

class Planner {
 public:
  Planner(const MergeConfig& config, const ModelResolver& resolve, std::string_view what)
      : c_(config), resolve_(resolve), what_(what) {}

  MergePlan run() {
    plan_.method = c_.method;
    if (c_.base_model) plan_.base = add_model(*c_.base_model, "base_model");
    build_slices();
    check_compatible();
    check_sources();
    build_out_config();
    plan_tensors();
    choose_tokenizer();
    const bool normalize_default =
        c_.method == MergeMethod::kLinear || c_.method == MergeMethod::kTies;
    plan_.normalize = switch_value("normalize", normalize_default);
    plan_.rescale = switch_value("rescale", true);
    return std::move(plan_);
  }

 private:
  std::size_t add_model(const std::string& ref, const std::string& field) {
    if (auto it = by_ref_.find(ref); it != by_ref_.end()) return it->second;
    fs::path dir;
    try {
      dir = resolve_(ref);
    } catch (const Error& e) {
      throw Error(e.kind(), fmt::format("{}: field '{}': {}", what_, field, e.what()));
    }
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(dir, ec);
    const std::string key = ec ? dir.string() : canonical.string();
    if (auto it = by_dir_.find(key); it != by_dir_.end()) {
      by_ref_[ref] = it->second;
      return it->second;
    }
    InputModel m;
    m.ref = ref;
    m.dir = dir;
    m.config = load_model_config(dir / "config.json");
    m.weights = std::make_shared<const WeightFiles>(dir);
    m.stored.emplace(m.config, *m.weights);
    plan_.models.push_back(std::move(m));
    const std::size_t index = plan_.models.size() - 1;
    by_ref_[ref] = index;
    by_dir_[key] = index;
    return index;
  }

  std::string model_name(std::size_t index) const {
    const InputModel& m = plan_.models[index];
    return m.ref == m.dir.string() ? fmt::format("'{}'", m.ref)
                                   : fmt::format("'{}' ({})", m.ref, m.dir.string());
  }

  bool needs_base() const {
    return c_.method == MergeMethod::kSlerp || is_task_arithmetic(c_.method);
  }

  void build_slices() {
    if (!c_.models.empty()) {
      Slice slice;
      slice.parameters = nullptr;
      slice.field = "models";
      bool base_included = false;
      for (std::size_t i = 0; i < c_.models.size(); ++i) {
        const std::string field = fmt::format("models[{}]", i);
        const std::size_t m = add_model(c_.models[i].model, field + ".model");
        base_included |= plan_.base == m;
        slice.sources.push_back({m, 0, &c_.models[i].parameters, field});
      }
      if (needs_base() && !base_included)
        slice.sources.push_back({*plan_.base, 0, nullptr, "base_model"});
      slice.n_layers = plan_.models[slice.sources[0].model].config.n_layer;
      for (const Source& s : slice.sources) {
        const std::int64_t n = plan_.models[s.model].config.n_layer;
        if (n != slice.n_layers) {
          fail_input(
              "{}: field '{}': model {} has {} layers but {} has {}; models of different depth "
              "need "
              "'slices' with layer_range",
              what_, s.field, model_name(s.model), n, model_name(slice.sources[0].model),
              slice.n_layers);
        }
      }
      slices_.push_back(std::move(slice));
      return;
    }
    for (std::size_t i = 0; i < c_.slices.size(); ++i) {
      const SliceSpec& spec = c_.slices[i];
      Slice slice;
      slice.parameters = &spec.parameters;
      slice.field = fmt::format("slices[{}]", i);
      for (std::size_t j = 0; j < spec.sources.size(); ++j) {
        const SourceSpec& src = spec.sources[j];
        const std::string field = fmt::format("{}.sources[{}]", slice.field, j);
        const std::size_t m = add_model(src.model, field + ".model");
        const auto [begin, end] = *src.layer_range;
        const std::int64_t n_layer = plan_.models[m].config.n_layer;
        if (end > n_layer) {
          fail_input("{}: field '{}.layer_range': end {} is past the {} layers of model {}", what_,
                     field, end, n_layer, model_name(m));
        }
        if (j == 0) {
          slice.n_layers = end - begin;
        } else if (end - begin != slice.n_layers) {
          fail_input(
              "{}: field '{}.layer_range': covers {} layers but {}.sources[0] covers {}; the "
              "sources of a "
              "slice must have the same number of layers",
              what_, field, end - begin, slice.field, slice.n_layers);
        }
        slice.sources.push_back({m, begin, &src.parameters, field});
      }
      slices_.push_back(std::move(slice));
    }
  }

  void check_compatible() {
    const std::size_t ref = plan_.base.value_or(0);
    const auto expected = shape_fields(plan_.models[ref].config);
    for (std::size_t i = 0; i < plan_.models.size(); ++i) {
      const auto actual = shape_fields(plan_.models[i].config);
      for (std::size_t f = 0; f < expected.size(); ++f) {
        if (actual[f].second != expected[f].second) {
          fail_input(
              "{}: model {} is not compatible with {}: config.json field '{}' is {} in the first "
              "but {} "
              "in the second; merged models must share their architecture and shapes",
              what_, model_name(i), model_name(ref), expected[f].first, actual[f].second,
              expected[f].second);
        }
      }
    }
  }

  void check_sources() {
    const std::string_view method = method_name(c_.method);
    for (const Slice& slice : slices_) {
      const std::size_t n = slice.sources.size();
      if (c_.method == MergeMethod::kPassthrough && n != 1) {
        fail_input("{}: field '{}': passthrough takes exactly one source per slice, found {}",
                   what_, slice.field, n);
      }
      if (c_.method == MergeMethod::kSlerp && n != 2) {
        fail_input(
            "{}: field '{}': slerp takes exactly two models (the base_model and one other), found "
            "{}",
            what_, slice.field, n);
      }
      if (needs_base()) {
        bool found = false;
        for (const Source& s : slice.sources) found |= s.model == *plan_.base;
        if (!found) {
          fail_input(
              "{}: field '{}': must include the base_model '{}' (merge_method {} works from it)",
              what_, slice.field, *c_.base_model, method);
        }
      }
    }
  }

  void build_out_config() {
    const std::size_t ref = plan_.base.value_or(slices_[0].sources[0].model);
    std::int64_t n_layer = 0;
    for (const Slice& s : slices_) n_layer += s.n_layers;
    // Start from the reference's own config.json so fields Enclave does not
    // model (Qwen2's max_window_layers, ...) survive the merge.
    json doc = read_json_file(plan_.models[ref].dir / "config.json");
    // Layer i of the output is which layer of the reference model: its
    // attention type (sliding or full) travels with it.
    std::vector<std::int64_t> source_layers;
    for (const Slice& s : slices_) {
      const Source* src = &s.sources[0];
      for (const Source& candidate : s.sources)
        if (candidate.model == ref) src = &candidate;
      for (std::int64_t i = 0; i < s.n_layers; ++i) source_layers.push_back(src->layer_begin + i);
    }
    ENCLAVE_CHECK(static_cast<std::int64_t>(source_layers.size()) == n_layer);
    set_layers(doc, plan_.models[ref].config, source_layers);
    if (c_.dtype) {
      doc["torch_dtype"] = torch_dtype_name(*c_.dtype);
      if (doc.contains("dtype")) doc["dtype"] = torch_dtype_name(*c_.dtype);
    }
    plan_.out_config = parse_model_config(doc, "merged config.json");
    plan_.out_config_json = std::move(doc);
    plan_.side_files_dir = plan_.models[ref].dir;
    reference_ = ref;
  }

  // Which slice and layer an output layer comes from.
  std::pair<std::size_t, std::int64_t> locate_layer(std::int64_t layer) const {
    for (std::size_t s = 0; s < slices_.size(); ++s) {
      if (layer < slices_[s].n_layers) return {s, layer};
      layer -= slices_[s].n_layers;
    }
    ENCLAVE_CHECK(false);
  }

  std::optional<double> parameter(const std::vector<const Parameters*>& levels,
                                  std::string_view name, std::string_view tensor, double t) const {
    return lookup_parameter(levels, name, tensor, t);
  }

  void plan_tensors() {
    const CheckpointNames names = checkpoint_names(plan_.out_config);
    const std::string layer_prefix = names.layer_prefix();
    for (const ParameterShape& p : parameter_shapes(plan_.out_config)) {
      PlannedTensor out;
      out.name = p.name;
      out.shape = p.shape;
      std::size_t slice_index = 0;
      std::int64_t offset = 0;
      std::string suffix;
      double t = 0.0;
      const bool is_layer = p.name.starts_with(layer_prefix);
      if (is_layer) {
        const std::string rest = p.name.substr(layer_prefix.size());
        const std::size_t dot = rest.find('.');
        std::tie(slice_index, offset) = locate_layer(std::stoll(rest.substr(0, dot)));
        suffix = rest.substr(dot);
        const std::int64_t n = slices_[slice_index].n_layers;
        t = n > 1 ? static_cast<double>(offset) / static_cast<double>(n - 1) : 1.0;
      } else {
        // mergekit: embeddings belong to the first slice at t = 0, the final
        // norm and lm_head to the last slice at t = 1.
        const bool pre = p.name == names.stack + "." + names.embed + ".weight";
        slice_index = pre ? 0 : slices_.size() - 1;
        t = pre ? 0.0 : 1.0;
      }
      const Slice& slice = slices_[slice_index];
      for (const Source& s : slice.sources) {
        const std::string input_name =
            is_layer ? fmt::format("{}{}{}", layer_prefix, s.layer_begin + offset, suffix) : p.name;
        out.sources.push_back(plan_source(s, slice, input_name, p.shape, t));
      }
      const std::vector<const Parameters*> global = {slice.parameters, &c_.parameters};
      if (c_.method == MergeMethod::kSlerp) {
        auto v = parameter(global, "t", p.name, t);
        if (!v) {
          fail_input(
              "{}: field 'parameters.t': no value for tensor '{}' (slerp needs t for every tensor; "
              "add an "
              "unfiltered fallback)",
              what_, p.name);
        }
        out.t = *v;
      }
      if (is_task_arithmetic(c_.method))
        out.lambda = parameter(global, "lambda", p.name, t).value_or(1.0);
      out.dtype = output_dtype(out);
      plan_.tensors.push_back(std::move(out));
    }
  }

  TensorSource plan_source(const Source& s, const Slice& slice, const std::string& name,
                           const std::vector<std::int64_t>& shape, double t) const {
    const InputModel& m = plan_.models[s.model];
    TensorSource out;
    out.model = s.model;
    out.is_base = plan_.base == s.model;
    out.ref = m.weights->find((*m.stored)(name));
    if (out.ref == nullptr) {
      fail(ErrorKind::kNotFound, "{}: model {} has no tensor '{}' (needed by '{}')", what_,
           model_name(s.model), name, s.field);
    }
    const TensorInfo& info = *out.ref->info;
    if (!is_float_dtype(info.dtype)) {
      fail_input("{}: model {}: tensor '{}' in {} is {}, not a float type that can be merged",
                 what_, model_name(s.model), name, WeightFiles::describe(*out.ref),
                 dtype_safetensors_name(info.dtype));
    }
    if (info.shape != shape) {
      fail_input(
          "{}: model {}: tensor '{}' in {} has shape {}, expected {}; the shapes do not match",
          what_, model_name(s.model), name, WeightFiles::describe(*out.ref), shape_text(info.shape),
          shape_text(shape));
    }
    const std::vector<const Parameters*> levels = {s.parameters, slice.parameters, &c_.parameters};
    auto required = [&](std::string_view param) {
      auto v = parameter(levels, param, name, t);
      if (!v) {
        fail_input("{}: field '{}': no '{}' for tensor '{}' (merge_method {} needs a {} per model)",
                   what_, s.field, param, name, method_name(c_.method), param);
      }
      return *v;
    };
    switch (c_.method) {
      case MergeMethod::kLinear:
        out.weight = required("weight");
        break;
      case MergeMethod::kTaskArithmetic:
      case MergeMethod::kTies:
      case MergeMethod::kDareTies:
      case MergeMethod::kDareLinear:
        if (!out.is_base) out.weight = required("weight");
        out.density = parameter(levels, "density", name, t).value_or(1.0);
        break;
      case MergeMethod::kPassthrough:
        out.scale = parameter(levels, "scale", name, t).value_or(1.0);
        break;
      case MergeMethod::kSlerp:
        break;
    }
    return out;
  }

  DType output_dtype(const PlannedTensor& t) const {
    if (c_.dtype) return *c_.dtype;
    for (const TensorSource& s : t.sources) {
      if (s.model == reference_) return s.ref->info->dtype;
    }
    return t.sources[0].ref->info->dtype;
  }

  void choose_tokenizer() {
    if (c_.tokenizer_source) {
      fs::path dir;
      if (*c_.tokenizer_source == "base") {
        if (!plan_.base)
          fail_input("{}: field 'tokenizer_source': 'base' needs a base_model", what_);
        dir = plan_.models[*plan_.base].dir;
      } else {
        try {
          dir = resolve_(*c_.tokenizer_source);
        } catch (const Error& e) {
          throw Error(e.kind(), fmt::format("{}: field 'tokenizer_source': {}", what_, e.what()));
        }
      }
      if (!has_tokenizer(dir)) {
        fail_input(
            "{}: field 'tokenizer_source': '{}' ({}) has no tokenizer.json or tokenizer.model",
            what_, *c_.tokenizer_source, dir.string());
      }
      std::error_code ec;
      if (fs::exists(dir / "config.json", ec)) {
        const std::int64_t vocab = load_model_config(dir / "config.json").vocab_size;
        if (vocab != plan_.out_config.vocab_size) {
          fail_input(
              "{}: field 'tokenizer_source': '{}' has vocab_size {} but the merged model has {}",
              what_, *c_.tokenizer_source, vocab, plan_.out_config.vocab_size);
        }
      }
      plan_.tokenizer_dir = dir;
      if (*c_.tokenizer_source != "base") plan_.tokenizer_ref = *c_.tokenizer_source;
      return;
    }
    const std::string expected = tokenizer_fingerprint(plan_.models[reference_].dir);
    for (std::size_t i = 0; i < plan_.models.size(); ++i) {
      if (tokenizer_fingerprint(plan_.models[i].dir) != expected) {
        fail_input(
            "{}: the tokenizers of {} and {} differ (tokenizer.json / tokenizer.model); set "
            "field 'tokenizer_source' to 'base' or the model whose tokenizer the result should use",
            what_, model_name(reference_), model_name(i));
      }
    }
    if (has_tokenizer(plan_.models[reference_].dir))
      plan_.tokenizer_dir = plan_.models[reference_].dir;
  }

  bool switch_value(std::string_view name, bool fallback) const {
    auto it = c_.parameters.switches.find(name);
    return it == c_.parameters.switches.end() ? fallback : it->second;
  }

  const MergeConfig& c_;
  const ModelResolver& resolve_;
  std::string_view what_;
  MergePlan plan_;
  std::vector<Slice> slices_;
  std::size_t reference_ = 0;
  std::map<std::string, std::size_t> by_ref_;
  std::map<std::string, std::size_t> by_dir_;
};

}  // namespace

MergePlan plan_merge(const MergeConfig& config, const ModelResolver& resolve,
                     std::string_view what) {
  const ModelResolver& resolver = resolve ? resolve : ModelResolver(resolve_model_directory);
  return Planner(config, resolver, what).run();
}

}  // namespace enclave::merge
