#include "train/train_config.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <utility>

#include "core/error.h"
#include "core/json.h"

namespace enclave::train {
namespace {

using nlohmann::json;

template <typename E>
using EnumNames = std::vector<std::pair<E, const char*>>;

const EnumNames<TrainMode> kModes = {{TrainMode::kPretrain, "pretrain"},
                                     {TrainMode::kSft, "sft"},
                                     {TrainMode::kDpo, "dpo"},
                                     {TrainMode::kSdpo, "sdpo"}};
const EnumNames<LrScheduler> kSchedulers = {{LrScheduler::kCosine, "cosine"},
                                            {LrScheduler::kLinear, "linear"},
                                            {LrScheduler::kConstant, "constant"}};
const EnumNames<DpoLossType> kLossTypes = {{DpoLossType::kSigmoid, "sigmoid"},
                                           {DpoLossType::kIpo, "ipo"}};
const EnumNames<Precision> kPrecisions = {{Precision::kF32, "f32"},
                                          {Precision::kBf16, "bf16"},
                                          {Precision::kBf16Autocast, "bf16-autocast"}};
const EnumNames<SdpoSplit> kSplits = {
    {SdpoSplit::kMargin, "margin"}, {SdpoSplit::kField, "field"}, {SdpoSplit::kFiles, "files"}};

template <typename E>
std::vector<std::string> names_of(const EnumNames<E>& names) {
  std::vector<std::string> out;
  for (const auto& [value, name] : names) out.emplace_back(name);
  return out;
}

template <typename E>
const char* name_of(const EnumNames<E>& names, E value) {
  for (const auto& [v, name] : names) {
    if (v == value) return name;
  }
  return "?";
}

template <typename E>
E value_of(const EnumNames<E>& names, std::string_view text) {
  for (const auto& [v, name] : names) {
    if (text == name) return v;
  }
  ENCLAVE_CHECK(false);  // callers check choices first
  return names.front().first;
}

// A key bound to a member: how to read it from JSON and write it back.
struct Binding {
  ConfigField field;
  std::function<void(TrainConfig&, const json&)> set;
  std::function<json(const TrainConfig&)> get;
};

std::string where(std::string_view what, std::string_view key) {
  return fmt::format("{}: key '{}'", what, key);
}

std::int64_t as_int(const json& v, std::string_view context) {
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::floor(d) == d && std::abs(d) < 9e15) return static_cast<std::int64_t>(d);
  }
  fail_input("{}: expected an integer, got {}", context,
             v.is_string() ? "'" + v.get<std::string>() + "'" : json_type_name(v));
}

double as_number(const json& v, std::string_view context) {
  if (v.is_number()) {
    double d = v.get<double>();
    if (!std::isfinite(d)) fail_input("{}: must be finite", context);
    return d;
  }
  fail_input("{}: expected a number, got {}", context, json_type_name(v));
}

template <typename T>
Binding int_field(const char* key, T TrainConfig::*member, std::int64_t min, std::int64_t max,
                  const char* help) {
  return {{key, FieldType::kInt, help, {}},
          [=](TrainConfig& c, const json& v) {
            std::int64_t x = as_int(v, key);
            if (x < min || x > max) fail_input("{}: {} is outside [{}, {}]", key, x, min, max);
            c.*member = static_cast<T>(x);
          },
          [=](const TrainConfig& c) { return json(c.*member); }};
}

Binding number_field(const char* key, double TrainConfig::*member, double min, double max,
                     const char* help) {
  return {{key, FieldType::kNumber, help, {}},
          [=](TrainConfig& c, const json& v) {
            double x = as_number(v, key);
            if (x < min || x > max) fail_input("{}: {} is outside [{}, {}]", key, x, min, max);
            c.*member = x;
          },
          [=](const TrainConfig& c) { return json(c.*member); }};
}

Binding string_field(const char* key, std::string TrainConfig::*member, const char* help,
                     std::vector<std::string> choices = {}) {
  return {{key, FieldType::kString, help, choices},
          [=](TrainConfig& c, const json& v) {
            if (!v.is_string()) fail_input("{}: expected a string, got {}", key, json_type_name(v));
            c.*member = v.get<std::string>();
          },
          [=](const TrainConfig& c) { return json(c.*member); }};
}

Binding bool_field(const char* key, bool TrainConfig::*member, const char* help) {
  return {{key, FieldType::kBool, help, {}},
          [=](TrainConfig& c, const json& v) {
            if (!v.is_boolean())
              fail_input("{}: expected true or false, got {}", key, json_type_name(v));
            c.*member = v.get<bool>();
          },
          [=](const TrainConfig& c) { return json(c.*member); }};
}

Binding list_field(const char* key, std::vector<std::string> TrainConfig::*member,
                   const char* help) {
  return {{key, FieldType::kStringList, help, {}},
          [=](TrainConfig& c, const json& v) {
            if (!v.is_array())
              fail_input("{}: expected a list of strings, got {}", key, json_type_name(v));
            std::vector<std::string> items;
            for (const json& item : v) {
              if (!item.is_string())
                fail_input("{}: expected a list of strings, got an item of type {}", key,
                           json_type_name(item));
              items.push_back(item.get<std::string>());
            }
            c.*member = std::move(items);
          },
          [=](const TrainConfig& c) { return json(c.*member); }};
}

// A number in the open interval (low, high); unset (null) by default.
Binding optional_number_field(const char* key, std::optional<double> TrainConfig::*member,
                              double low, double high, const char* help) {
  return {{key, FieldType::kNumber, help, {}},
          [=](TrainConfig& c, const json& v) {
            double x = as_number(v, key);
            if (!(x > low)) fail_input("{}: {} must be above {}", key, x, low);
            if (!(x < high)) fail_input("{}: {} must be below {}", key, x, high);
            c.*member = x;
          },
          [=](const TrainConfig& c) { return c.*member ? json(*(c.*member)) : json(nullptr); }};
}

template <typename E>
Binding enum_field(const char* key, E TrainConfig::*member, const EnumNames<E>& names,
                   const char* help) {
  return {{key, FieldType::kString, help, names_of(names)},
          [=, &names](TrainConfig& c, const json& v) {
            if (!v.is_string()) fail_input("{}: expected a string, got {}", key, json_type_name(v));
            c.*member = value_of(names, v.get<std::string>());
          },
          [=, &names](const TrainConfig& c) { return json(name_of(names, c.*member)); }};
}

constexpr std::int64_t kBig = std::numeric_limits<std::int32_t>::max();

const std::vector<Binding>& bindings() {
  static const std::vector<Binding> table = {
      string_field("model", &TrainConfig::model,
                   "Base model: a registry reference (name, name@3, name:alias) or a directory"),
      string_field("data", &TrainConfig::data,
                   "Training data: a dataset reference or a JSONL file"),
      string_field("eval_data", &TrainConfig::eval_data,
                   "Held-out data (dataset reference or JSONL) for validation loss"),
      string_field("out", &TrainConfig::out,
                   "Name to register the trained model (or adapter) under"),
      {{"lr",
        FieldType::kNumber,
        "Peak learning rate (default: pretrain 3e-4, sft 2e-5, dpo 5e-7; x10 with LoRA)",
        {}},
       [](TrainConfig& c, const json& v) {
         double x = as_number(v, "lr");
         if (!(x > 0) || x > 10) fail_input("lr: {} is outside (0, 10]", x);
         c.lr = x;
       },
       [](const TrainConfig& c) { return c.lr ? json(*c.lr) : json(nullptr); }},
      enum_field("lr_scheduler", &TrainConfig::lr_scheduler, kSchedulers, "Decay after warmup"),
      int_field("warmup_steps", &TrainConfig::warmup_steps, 0, kBig, "Linear warmup steps"),
      number_field("min_lr_ratio", &TrainConfig::min_lr_ratio, 0, 1,
                   "Final learning rate as a fraction of lr"),
      number_field("weight_decay", &TrainConfig::weight_decay, 0, 10,
                   "AdamW weight decay (not on norms and biases)"),
      number_field("adam_beta1", &TrainConfig::adam_beta1, 0, 0.999999, "AdamW beta1"),
      number_field("adam_beta2", &TrainConfig::adam_beta2, 0, 0.999999999, "AdamW beta2"),
      number_field("adam_epsilon", &TrainConfig::adam_epsilon, 1e-30, 1, "AdamW epsilon"),
      number_field("max_grad_norm", &TrainConfig::max_grad_norm, 0, 1e9,
                   "Clip the global gradient norm (0: off)"),
      int_field("batch_size", &TrainConfig::batch_size, 1, kBig,
                "Examples per optimiser step, over all processes"),
      int_field("micro_batch_tokens", &TrainConfig::micro_batch_tokens, 1, kBig,
                "Padded tokens per forward pass; larger batches accumulate gradients"),
      int_field("max_length", &TrainConfig::max_length, 2, kBig,
                "Sequence length (pretrain packing; truncation otherwise)"),
      int_field("max_steps", &TrainConfig::max_steps, 0, kBig, "Optimiser steps (0: use epochs)"),
      number_field("epochs", &TrainConfig::epochs, 1e-9, 1e6,
                   "Passes over the data when max_steps is 0"),
      enum_field("precision", &TrainConfig::precision, kPrecisions, "Compute precision"),
      bool_field("gradient_checkpointing", &TrainConfig::gradient_checkpointing,
                 "Recompute layer activations in the backward pass to save memory"),
      string_field("save_dtype", &TrainConfig::save_dtype, "Dtype of the saved weights",
                   {"f32", "bf16"}),
      int_field("eval_every", &TrainConfig::eval_every, 0, kBig,
                "Validation loss every N steps (0: at the end)"),
      int_field("early_stopping_patience", &TrainConfig::early_stopping_patience, 0, kBig,
                "Stop after N evaluations without a better validation loss (0: off)"),
      int_field("save_every", &TrainConfig::save_every, 0, kBig,
                "Checkpoint every N steps (0: only on Ctrl-C)"),
      int_field("keep_checkpoints", &TrainConfig::keep_checkpoints, 1, kBig,
                "Checkpoints to keep (oldest removed)"),
      string_field("checkpoint_dir", &TrainConfig::checkpoint_dir,
                   "Checkpoint folder (default <workspace>/checkpoints/<out>)"),
      string_field("resume", &TrainConfig::resume,
                   "Resume from a checkpoint folder, or 'latest' in checkpoint_dir"),
      {{"seed", FieldType::kInt, "Seed for data order, LoRA init and dropout", {}},
       [](TrainConfig& c, const json& v) {
         std::int64_t x = as_int(v, "seed");
         if (x < 0) fail_input("seed: {} must be >= 0", x);
         c.seed = static_cast<std::uint64_t>(x);
       },
       [](const TrainConfig& c) { return json(c.seed); }},
      int_field("threads", &TrainConfig::threads, 0, 1024,
                "CPU threads per process (0: library default)"),
      string_field("device", &TrainConfig::device, "cpu, cuda or cuda:N"),
      int_field("log_every", &TrainConfig::log_every, 1, kBig,
                "Progress line every N steps when not on a terminal"),
      bool_field("lora", &TrainConfig::lora, "Train a LoRA adapter instead of all weights"),
      int_field("lora_r", &TrainConfig::lora_r, 1, 65536, "LoRA rank"),
      number_field("lora_alpha", &TrainConfig::lora_alpha, 1e-9, 1e9,
                   "LoRA alpha (scaling alpha/r, or alpha/sqrt(r))"),
      number_field("lora_dropout", &TrainConfig::lora_dropout, 0, 0.999,
                   "Dropout on the LoRA input"),
      list_field(
          "lora_target_modules", &TrainConfig::lora_target_modules,
          "Linear layers to adapt (q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj)"),
      bool_field("use_rslora", &TrainConfig::use_rslora, "rsLoRA scaling alpha/sqrt(r)"),
      number_field("beta", &TrainConfig::beta, 1e-9, 1e6,
                   "DPO beta (strength of the pull to the reference)"),
      enum_field("loss_type", &TrainConfig::loss_type, kLossTypes, "DPO loss"),
      number_field("label_smoothing", &TrainConfig::label_smoothing, 0, 0.4999,
                   "DPO label smoothing (conservative DPO)"),
      int_field("sdpo_chunks", &TrainConfig::sdpo_chunks, 1, 1024,
                "sDPO: number of ordered chunks"),
      enum_field("sdpo_split", &TrainConfig::sdpo_split, kSplits,
                 "sDPO: split easy-to-hard by reference margin, by a field, or by files"),
      string_field("sdpo_field", &TrainConfig::sdpo_field,
                   "sDPO: record field whose values order the chunks"),
      list_field("sdpo_files", &TrainConfig::sdpo_files,
                 "sDPO: JSONL files, one per chunk, in order"),
      optional_number_field("dp_epsilon", &TrainConfig::dp_epsilon, 0, 1e6,
                            "Differential privacy: train with DP-SGD to this epsilon over the "
                            "whole run (smaller is more private; needs dp_delta and "
                            "dp_max_grad_norm; pretrain and sft only)"),
      optional_number_field("dp_delta", &TrainConfig::dp_delta, 0, 1,
                            "Differential privacy: delta, the chance the epsilon bound fails; "
                            "must be below 1 / training examples (e.g. 1e-5)"),
      optional_number_field("dp_max_grad_norm", &TrainConfig::dp_max_grad_norm, 0, 1e9,
                            "Differential privacy: each example's gradient is clipped to this L2 "
                            "norm (e.g. 1.0); replaces max_grad_norm"),
      int_field("nproc", &TrainConfig::nproc, 1, 1024, "Data-parallel processes on this machine"),
      int_field("nnodes", &TrainConfig::nnodes, 1, 65536, "Machines taking part"),
      int_field("node_rank", &TrainConfig::node_rank, 0, 65535,
                "This machine's index (0 hosts the rendezvous)"),
      string_field("master_addr", &TrainConfig::master_addr,
                   "Address of node 0's rendezvous store"),
      int_field("master_port", &TrainConfig::master_port, 1, 65535, "Port of the rendezvous store"),
  };
  return table;
}

const Binding* find_binding(std::string_view key) {
  for (const Binding& b : bindings()) {
    if (b.field.key == key) return &b;
  }
  return nullptr;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string item(text.substr(start, end - start));
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) items.push_back(item);
    start = end + 1;
  }
  return items;
}

}  // namespace

std::string_view to_string(TrainMode mode) { return name_of(kModes, mode); }

TrainMode parse_train_mode(std::string_view text) {
  for (const auto& [mode, name] : kModes) {
    if (text == name) return mode;
  }
  fail_input("train mode '{}': expected pretrain, sft, dpo or sdpo", text);
}

const std::vector<ConfigField>& config_fields() {
  static const std::vector<ConfigField> fields = [] {
    std::vector<ConfigField> out;
    for (const Binding& b : bindings()) out.push_back(b.field);
    return out;
  }();
  return fields;
}

std::string flag_name(std::string_view key) {
  std::string flag = "--";
  for (char c : key) flag += c == '_' ? '-' : c;
  return flag;
}

json parse_flag_value(const ConfigField& field, std::string_view text) {
  const std::string flag = flag_name(field.key);
  switch (field.type) {
    case FieldType::kInt: {
      std::int64_t v = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
        fail_input("{}: '{}' is not an integer", flag, text);
      }
      return v;
    }
    case FieldType::kNumber: {
      std::string s(text);
      char* end = nullptr;
      double v = std::strtod(s.c_str(), &end);
      if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) {
        fail_input("{}: '{}' is not a number", flag, text);
      }
      return v;
    }
    case FieldType::kBool:
      if (text == "true" || text == "1" || text.empty()) return true;
      if (text == "false" || text == "0") return false;
      fail_input("{}: '{}' is not true or false", flag, text);
    case FieldType::kStringList:
      return split_list(text);
    case FieldType::kString:
      return std::string(text);
  }
  return nullptr;
}

TrainConfig config_from_json(TrainMode mode, const json& values, std::string_view what) {
  if (!values.is_object())
    fail_input("{}: expected a mapping of keys, got {}", what, json_type_name(values));
  TrainConfig config;
  config.mode = mode;
  for (const auto& [key, value] : values.items()) {
    if (key == "mode") {  // stored params carry it; it must agree with the subcommand
      if (!value.is_string() || value.get<std::string>() != to_string(mode)) {
        fail_input("{}: key 'mode': {} does not match `train {}`", what, value.dump(),
                   to_string(mode));
      }
      continue;
    }
    const Binding* b = find_binding(key);
    if (b == nullptr)
      fail_input("{}: unknown key '{}' (see `enclave train {} --help`)", what, key,
                 to_string(mode));
    if (value.is_null()) continue;  // "key:" with no value keeps the default
    if (!b->field.choices.empty()) {
      if (!value.is_string())
        fail_input("{}: expected one of {}", where(what, key), fmt::join(b->field.choices, ", "));
      const std::string text = value.get<std::string>();
      if (std::find(b->field.choices.begin(), b->field.choices.end(), text) ==
          b->field.choices.end()) {
        fail_input("{}: '{}' is not one of {}", where(what, key), text,
                   fmt::join(b->field.choices, ", "));
      }
    }
    try {
      b->set(config, value);
    } catch (const Error& e) {
      fail_input("{}: {}", what, e.what());
    }
  }
  // sDPO over given files reads them instead of `data`.
  const bool data_from_files = config.sdpo_split == SdpoSplit::kFiles && !config.sdpo_files.empty();
  for (const char* key : {"model", "data", "out"}) {
    if (data_from_files && std::string_view(key) == "data") continue;
    if (find_binding(key)->get(config).get<std::string>().empty()) {
      fail_input("{}: '{}' is required (flag {})", what, key, flag_name(key));
    }
  }
  return config;
}

void resolve_defaults(TrainConfig& c) {
  if (!c.lr) {
    double base = c.mode == TrainMode::kPretrain ? 3e-4 : c.mode == TrainMode::kSft ? 2e-5 : 5e-7;
    c.lr = c.lora ? base * 10 : base;
  }
  const bool preference = c.mode == TrainMode::kDpo || c.mode == TrainMode::kSdpo;
  if (!preference && (c.sdpo_split == SdpoSplit::kFiles || !c.sdpo_files.empty())) {
    fail_input("sdpo_files/sdpo_split are for `train sdpo` only");
  }
  if (c.mode == TrainMode::kSdpo) {
    if (c.sdpo_split == SdpoSplit::kFiles) {
      if (c.sdpo_files.empty())
        fail_input("sdpo_split=files needs sdpo_files (one JSONL per chunk)");
      c.sdpo_chunks = static_cast<std::int64_t>(c.sdpo_files.size());
    } else if (!c.sdpo_files.empty()) {
      fail_input("sdpo_files is given but sdpo_split is not 'files'");
    }
    if (c.sdpo_split == SdpoSplit::kField && c.sdpo_field.empty()) {
      fail_input("sdpo_split=field needs sdpo_field (the record field that orders the chunks)");
    }
  }
  if (c.lora && c.lora_target_modules.empty())
    fail_input("lora_target_modules: give at least one module");
  if (c.node_rank >= c.nnodes)
    fail_input("node_rank: {} must be below nnodes {}", c.node_rank, c.nnodes);
  const int n_dp =
      c.dp_epsilon.has_value() + c.dp_delta.has_value() + c.dp_max_grad_norm.has_value();
  if (n_dp != 0 && n_dp != 3) {
    std::string missing;
    for (const char* key : {"dp_epsilon", "dp_delta", "dp_max_grad_norm"}) {
      if (find_binding(key)->get(c).is_null())
        missing += (missing.empty() ? "" : ", ") + flag_name(key);
    }
    fail_input(
        "differential privacy needs all of dp_epsilon, dp_delta and dp_max_grad_norm; missing {}",
        missing);
  }
  if (n_dp == 3 && preference) {
    fail_input(
        "dp_epsilon: DP-SGD is available for `train pretrain` and `train sft`, not `train {}`",
        to_string(c.mode));
  }
  if (c.batch_size < c.nproc * c.nnodes) {
    fail_input("batch_size: {} is smaller than the {} processes sharing it", c.batch_size,
               c.nproc * c.nnodes);
  }
}

json to_json(const TrainConfig& config) {
  json out = json::object();
  out["mode"] = to_string(config.mode);
  for (const Binding& b : bindings()) out[b.field.key] = b.get(config);
  return out;
}

}  // namespace enclave::train
