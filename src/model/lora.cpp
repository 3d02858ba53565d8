#include "model/lora.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <cmath>
#include <regex>
#include <set>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "model/safetensors.h"
#include "model/save.h"
#include "model/weight_files.h"
#include "model/weights.h"

namespace enclave {
namespace {

using nlohmann::json;

constexpr const char* kPeftPrefix = "base_model.model.";

std::string last_part(const std::string& name) {
  const std::size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

bool targeted(const LoraConfig& config, const std::string& name) {
  if (!config.target_regex.empty()) return std::regex_match(name, std::regex(config.target_regex));
  const std::string last = last_part(name);
  for (const std::string& t : config.target_modules) {
    if (t == last || t == name) return true;
  }
  return false;
}

// Rejects a PEFT option that changes the computation unless it has its neutral value.
void require_neutral(const json& doc, const char* key, const json& neutral,
                     const std::string& what) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null() || *it == neutral) return;
  if (neutral.is_object() && it->is_object() && it->empty()) return;
  fail(ErrorKind::kUnsupported, "{}: field '{}': {} is not supported (LoRA without it only)", what,
       key, it->dump());
}

}  // namespace

double LoraConfig::scaling() const {
  return use_rslora ? alpha / std::sqrt(static_cast<double>(r)) : alpha / static_cast<double>(r);
}

struct LoraAdapter::State {
  bool enabled = true;
  bool training = false;
};

struct LoraAdapter::Layer : LinearAdapter {
  std::string name;  // module name, "model.layers.0.self_attn.q_proj"
  std::weak_ptr<LinearImpl> linear;
  torch::Tensor a;  // (r, in) fp32
  torch::Tensor b;  // (out, r) fp32
  double scaling = 1.0;
  double dropout = 0.0;
  std::shared_ptr<State> state;

  torch::Tensor forward(const torch::Tensor& x) override {
    if (!state->enabled) return {};
    torch::Tensor h = x.to(a.scalar_type());
    if (state->training && dropout > 0) h = torch::dropout(h, dropout, /*train=*/true);
    // x: (..., in) -> (..., r) -> (..., out)
    return (torch::linear(torch::linear(h, a), b) * scaling).to(x.scalar_type());
  }
};

LoraConfig read_adapter_config(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / kAdapterConfigFile;
  if (!std::filesystem::exists(path))
    fail(ErrorKind::kNotFound, "{}: missing {}", dir.string(), kAdapterConfigFile);
  const json doc = read_json_file(path);
  const std::string what = path.string();
  if (!doc.is_object()) fail_input("{}: expected a JSON object", what);
  const std::string type = json_string(doc, "peft_type", what, "LORA");
  if (type != "LORA")
    fail(ErrorKind::kUnsupported, "{}: field 'peft_type': '{}' is not supported (LORA only)", what,
         type);
  LoraConfig c;
  c.r = json_int(doc, "r", what);
  if (c.r < 1 || c.r > 65536) fail_input("{}: field 'r': {} is outside [1, 65536]", what, c.r);
  c.alpha = json_number(doc, "lora_alpha", what, 8.0);
  if (!(c.alpha > 0) || !std::isfinite(c.alpha))
    fail_input("{}: field 'lora_alpha': must be positive", what);
  c.dropout = json_number(doc, "lora_dropout", what, 0.0);
  if (!(c.dropout >= 0 && c.dropout < 1))
    fail_input("{}: field 'lora_dropout': {} is outside [0, 1)", what, c.dropout);
  c.use_rslora = json_bool(doc, "use_rslora", what, false);
  c.base_model_name_or_path =
      doc.contains("base_model_name_or_path") && doc["base_model_name_or_path"].is_string()
          ? doc["base_model_name_or_path"].get<std::string>()
          : "";
  auto targets = doc.find("target_modules");
  if (targets == doc.end() || targets->is_null())
    fail_input("{}: field 'target_modules' is missing", what);
  if (targets->is_string()) {
    c.target_modules.clear();
    c.target_regex = targets->get<std::string>();
    try {
      std::regex check(c.target_regex);
    } catch (const std::regex_error&) {
      fail_input("{}: field 'target_modules': '{}' is not a valid regular expression", what,
                 c.target_regex);
    }
  } else if (targets->is_array() && !targets->empty()) {
    c.target_modules.clear();
    for (const json& t : *targets) {
      if (!t.is_string())
        fail_input("{}: field 'target_modules': expected strings, got {}", what, json_type_name(t));
      c.target_modules.push_back(t.get<std::string>());
    }
  } else {
    fail_input("{}: field 'target_modules': expected a non-empty list or a regex string", what);
  }
  require_neutral(doc, "bias", "none", what);
  require_neutral(doc, "fan_in_fan_out", false, what);
  require_neutral(doc, "use_dora", false, what);
  require_neutral(doc, "modules_to_save", json::array(), what);
  require_neutral(doc, "layers_to_transform", json::array(), what);
  require_neutral(doc, "rank_pattern", json::object(), what);
  require_neutral(doc, "alpha_pattern", json::object(), what);
  return c;
}

json adapter_config_json(const LoraConfig& c) {
  json targets = c.target_regex.empty() ? json(c.target_modules) : json(c.target_regex);
  return {{"alpha_pattern", json::object()},
          {"base_model_name_or_path", c.base_model_name_or_path},
          {"bias", "none"},
          {"fan_in_fan_out", false},
          {"inference_mode", true},
          {"init_lora_weights", true},
          {"layers_to_transform", nullptr},
          {"lora_alpha", c.alpha},
          {"lora_dropout", c.dropout},
          {"modules_to_save", nullptr},
          {"peft_type", "LORA"},
          {"r", c.r},
          {"rank_pattern", json::object()},
          {"target_modules", targets},
          {"task_type", "CAUSAL_LM"},
          {"use_dora", false},
          {"use_rslora", c.use_rslora}};
}

LoraAdapter::LoraAdapter(TransformerImpl& model, LoraConfig config)
    : config_(std::move(config)), state_(std::make_shared<State>()) {
  if (config_.r < 1) fail_input("lora: r must be positive, got {}", config_.r);
  config_.target_modules = family_module_names(model.config(), config_.target_modules);
  for (const auto& item : model.named_modules()) {
    auto linear = std::dynamic_pointer_cast<LinearImpl>(item.value());
    if (!linear || !targeted(config_, item.key())) continue;
    if (linear->adapter_) fail_input("lora: module '{}' already has an adapter", item.key());
    auto layer = std::make_shared<Layer>();
    layer->name = item.key();
    layer->linear = linear;
    layer->scaling = config_.scaling();
    layer->dropout = config_.dropout;
    layer->state = state_;
    const auto options =
        torch::TensorOptions().dtype(torch::kFloat32).device(linear->weight_.device());
    layer->a = torch::zeros({config_.r, linear->weight_.size(1)}, options);
    layer->b = torch::zeros({linear->weight_.size(0), config_.r}, options);
    layers_.push_back(layer);
  }
  if (layers_.empty()) {
    fail_input("lora: no Linear layer matches target_modules [{}]{}",
               fmt::join(config_.target_modules, ", "),
               config_.target_regex.empty() ? "" : " / regex '" + config_.target_regex + "'");
  }
  // Attach only once every layer is built, so a failure leaves the model untouched.
  for (auto& layer : layers_) layer->linear.lock()->adapter_ = layer;
}

std::shared_ptr<LoraAdapter> LoraAdapter::attach_new(TransformerImpl& model,
                                                     const LoraConfig& config, std::uint64_t seed) {
  std::shared_ptr<LoraAdapter> adapter(new LoraAdapter(model, config));
  torch::NoGradGuard no_grad;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& layer : adapter->layers_) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(layer->a.size(1)));
    torch::Tensor a = torch::empty(layer->a.sizes(), torch::kFloat32);
    a.uniform_(-bound, bound, gen);
    layer->a = a.to(layer->a.device()).requires_grad_(true);
    layer->b = layer->b.clone().requires_grad_(true);
  }
  return adapter;
}

std::shared_ptr<LoraAdapter> LoraAdapter::attach_saved(TransformerImpl& model,
                                                       const std::filesystem::path& dir) {
  LoraConfig config = read_adapter_config(dir);
  std::shared_ptr<LoraAdapter> adapter(new LoraAdapter(model, config));
  adapter->load_tensors(dir);
  return adapter;
}

void LoraAdapter::load_files(const std::filesystem::path& dir) { load_tensors(dir); }

void LoraAdapter::load_tensors(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / kAdapterWeightsFile;
  auto file = std::make_shared<const SafetensorsFile>(path);
  std::set<std::string> expected;
  torch::NoGradGuard no_grad;
  for (auto& layer : layers_) {
    for (auto* slot : {&layer->a, &layer->b}) {
      const std::string name = std::string(kPeftPrefix) + layer->name +
                               (slot == &layer->a ? ".lora_A.weight" : ".lora_B.weight");
      expected.insert(name);
      const TensorInfo* info = file->find(name);
      if (info == nullptr)
        fail_input("{}: missing tensor '{}' (shape {})", path.string(), name,
                   format_shape(slot->sizes()));
      if (c10::IntArrayRef(info->shape) != slot->sizes()) {
        fail_input("{}: tensor '{}': expected shape {}, got {}", path.string(), name,
                   format_shape(slot->sizes()), format_shape(info->shape));
      }
      if (info->dtype != DType::kF32 && info->dtype != DType::kBF16 && info->dtype != DType::kF16) {
        fail_input("{}: tensor '{}': dtype {} is not a float type", path.string(), name,
                   dtype_safetensors_name(info->dtype));
      }
      // In place: optimisers hold these tensors (load_files restores a checkpoint).
      slot->copy_(load_tensor(WeightRef{file, info}, torch::kFloat32, slot->device(),
                              /*allow_mmap=*/false));
      if (!slot->requires_grad()) slot->requires_grad_(true);
    }
  }
  for (const TensorInfo& info : file->tensors()) {
    if (expected.count(info.name) == 0) {
      fail_input("{}: unexpected tensor '{}': no adapted module of that name (target_modules [{}])",
                 path.string(), info.name, fmt::join(config_.target_modules, ", "));
    }
  }
}

LoraAdapter::~LoraAdapter() { detach(); }

void LoraAdapter::set_enabled(bool enabled) { state_->enabled = enabled; }
bool LoraAdapter::enabled() const { return state_->enabled; }
void LoraAdapter::set_training(bool training) { state_->training = training; }

std::vector<std::pair<std::string, torch::Tensor>> LoraAdapter::named_parameters() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& layer : layers_) {
    out.emplace_back(std::string(kPeftPrefix) + layer->name + ".lora_A.weight", layer->a);
    out.emplace_back(std::string(kPeftPrefix) + layer->name + ".lora_B.weight", layer->b);
  }
  return out;
}

std::vector<torch::Tensor> LoraAdapter::parameters() const {
  std::vector<torch::Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

void LoraAdapter::save_files(const std::filesystem::path& dir) const {
  std::vector<torch::Tensor> host;
  std::vector<TensorToWrite> tensors;
  for (const auto& [name, t] : named_parameters()) {
    torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    host.push_back(c);
    tensors.push_back({name, DType::kF32,
                       std::vector<std::int64_t>(c.sizes().begin(), c.sizes().end()),
                       std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(c.data_ptr()),
                                                     static_cast<std::size_t>(c.numel()) * 4)});
  }
  write_safetensors(dir / kAdapterWeightsFile, tensors, {{"format", "pt"}});
  write_file_atomic(dir / kAdapterConfigFile, adapter_config_json(config_).dump(2) + "\n");
}

void LoraAdapter::merge_and_detach() {
  torch::NoGradGuard no_grad;
  for (auto& layer : layers_) {
    std::shared_ptr<LinearImpl> linear = layer->linear.lock();
    if (!linear) continue;
    torch::Tensor& w = linear->weight_;
    torch::Tensor delta = torch::matmul(layer->b.detach(), layer->a.detach()) * layer->scaling;
    w.copy_((w.to(torch::kFloat32) + delta.to(w.device())).to(w.scalar_type()));
  }
  detach();
}

void LoraAdapter::detach() {
  for (auto& layer : layers_) {
    if (std::shared_ptr<LinearImpl> linear = layer->linear.lock();
        linear && linear->adapter_ == layer) {
      linear->adapter_.reset();
    }
  }
  layers_.clear();
}

void merge_lora(const std::filesystem::path& base_dir, const std::filesystem::path& adapter_dir,
                const std::filesystem::path& out_dir, const std::string& save_dtype) {
  if (!std::filesystem::is_directory(base_dir))
    fail(ErrorKind::kNotFound, "{}: base model directory does not exist", base_dir.string());
  if (!std::filesystem::is_directory(adapter_dir))
    fail(ErrorKind::kNotFound, "{}: adapter directory does not exist", adapter_dir.string());
  const ModelConfig config = load_model_config(base_dir / "config.json");
  Transformer model(config, torch::kFloat32);
  load_weights(*model, WeightFiles(base_dir),
               LoadOptions{.device = torch::kCPU, .allow_mmap = false});
  std::shared_ptr<LoraAdapter> adapter = LoraAdapter::attach_saved(*model, adapter_dir);
  adapter->merge_and_detach();
  save_model(*model, out_dir, SaveOptions{.dtype = save_dtype, .copy_files_from = base_dir});
}

}  // namespace enclave
