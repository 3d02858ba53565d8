#include <fmt/format.h>

#include "train/trainer.h"

namespace enclave::train::detail {
namespace {

using nlohmann::json;

// Settings a resumed run must share with the checkpoint's, or the losses
// would not continue the same curve.
constexpr const char* kResumeKeys[] = {"batch_size",
                                       "max_steps",
                                       "epochs",
                                       "seed",
                                       "lora",
                                       "lora_r",
                                       "lora_alpha",
                                       "use_rslora",
                                       "lora_dropout",
                                       "lora_target_modules",
                                       "precision",
                                       "max_length",
                                       "lr",
                                       "lr_scheduler",
                                       "warmup_steps",
                                       "min_lr_ratio",
                                       "weight_decay",
                                       "adam_beta1",
                                       "adam_beta2",
                                       "adam_epsilon",
                                       "max_grad_norm",
                                       "loss_type",
                                       "beta",
                                       "label_smoothing",
                                       "sdpo_chunks",
                                       "sdpo_split",
                                       "sdpo_field",
                                       "dp_epsilon",
                                       "dp_delta",
                                       "dp_max_grad_norm"};

}  // namespace

void Trainer::resume_from(const std::filesystem::path& checkpoint) {
  const json state = read_trainer_state(checkpoint);
  const std::string what = (checkpoint / kTrainerStateFile).string();
  if (state["mode"] != to_string(config_.mode)) {
    fail_input("{}: checkpoint of `train {}`, cannot resume `train {}`", what,
               state["mode"].get<std::string>(), to_string(config_.mode));
  }
  const json now = to_json(config_);
  for (const char* key : kResumeKeys) {
    if (state["config"].value(key, json()) != now[key]) {
      fail_input(
          "{}: setting '{}' was {} in the checkpoint but is {} now; resume with the same settings",
          what, key, state["config"].value(key, json()).dump(), now[key].dump());
    }
  }
  step_ = state["step"].get<std::int64_t>();
  phase_ = state.value("phase", std::size_t{0});
  phase_step_ = state.value("phase_step", std::int64_t{0});
  data_position_ = {state["data"].value("epoch", std::int64_t{0}),
                    state["data"].value("index", std::int64_t{0})};
  best_eval_ = state.value("best_eval", std::numeric_limits<double>::infinity());
  evals_without_improvement_ = state.value("evals_without_improvement", std::int64_t{0});
  torch::NoGradGuard no_grad;
  if (lora_) {
    lora_->load_files(checkpoint);
  } else {
    std::map<std::string, torch::Tensor> weights =
        load_tensor_file(checkpoint / "model.safetensors");
    for (auto& [name, p] : trainable_) {
      auto it = weights.find(name);
      if (it == weights.end() || it->second.sizes() != p.sizes()) {
        fail_input("{}: tensor '{}' is missing or mis-shaped",
                   (checkpoint / "model.safetensors").string(), name);
      }
      p.copy_(it->second);
    }
  }
  optimizer_state_ = load_tensor_file(checkpoint / "optimizer.safetensors");
  std::map<std::string, torch::Tensor> extra = load_tensor_file(checkpoint / "state.safetensors");
  phases_.clear();
  for (std::size_t k = 0;; ++k) {
    if (auto it = extra.find(fmt::format("phase/{}", k)); it != extra.end()) {
      const torch::Tensor& t = it->second;
      phases_.push_back({0, std::vector<std::size_t>(t.data_ptr<std::int64_t>(),
                                                     t.data_ptr<std::int64_t>() + t.numel())});
    } else if (auto all = extra.find(fmt::format("phase/{}/all", k)); all != extra.end()) {
      phases_.push_back({static_cast<std::size_t>(all->second.item<std::int64_t>()), {}});
    } else {
      break;
    }
  }
  if (phases_.empty() || phase_ >= phases_.size())
    fail_input("{}: checkpoint has no data phases", what);
  if (auto it = extra.find("reference"); it != extra.end()) {
    dynamic_cast<DpoObjective&>(*objective_).set_reference(it->second);
  }
  if (auto it = extra.find("eval_reference"); it != extra.end() && eval_objective_) {
    dynamic_cast<DpoObjective&>(*eval_objective_).set_reference(it->second);
  }
  if (auto it = extra.find("rng"); it != extra.end()) {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(it->second);
  }
  result_.start_step = step_;
  message(fmt::format("resumed from {} at step {}", checkpoint.string(), step_));
}

void Trainer::save_checkpoint(const DataOrder& order, const AdamW& optimizer) {
  if (config_.checkpoint_dir.empty()) {
    message("no checkpoint_dir set: checkpoint not written");
    return;
  }
  const std::filesystem::path dir =
      std::filesystem::path(config_.checkpoint_dir) / checkpoint_name(step_);
  if (dist_.rank == 0 && !std::filesystem::exists(dir)) {
    std::filesystem::create_directories(dir.parent_path());
    StagingDir staged(dir);
    if (lora_) {
      lora_->save_files(staged.path());
    } else {
      std::map<std::string, torch::Tensor> weights(trainable_.begin(), trainable_.end());
      save_tensor_file(staged.path() / "model.safetensors", weights);
    }
    save_tensor_file(staged.path() / "optimizer.safetensors", optimizer.state());
    std::map<std::string, torch::Tensor> extra;
    for (std::size_t k = 0; k < phases_.size(); ++k) {
      if (phases_[k].ids.empty()) {
        extra[fmt::format("phase/{}/all", k)] =
            torch::tensor({static_cast<std::int64_t>(phases_[k].n_all)}, torch::kInt64);
        continue;
      }
      std::vector<std::int64_t> ids(phases_[k].ids.begin(), phases_[k].ids.end());
      extra[fmt::format("phase/{}", k)] = torch::tensor(ids, torch::kInt64);
    }
    if (auto* dpo = dynamic_cast<DpoObjective*>(objective_.get()))
      extra["reference"] = dpo->reference();
    if (auto* dpo = dynamic_cast<DpoObjective*>(eval_objective_.get()))
      extra["eval_reference"] = dpo->reference();
    {
      at::Generator gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      extra["rng"] = gen.get_state();
    }
    save_tensor_file(staged.path() / "state.safetensors", extra);
    const DataPosition pos = order.position();
    json state = {{"format_version", kCheckpointFormatVersion},
                  {"mode", to_string(config_.mode)},
                  {"step", step_},
                  {"phase", phase_},
                  {"phase_step", phase_step_},
                  {"data", {{"epoch", pos.epoch}, {"index", pos.index}}},
                  {"evals_without_improvement", evals_without_improvement_},
                  {"config", to_json(config_)}};
    if (std::isfinite(best_eval_)) state["best_eval"] = best_eval_;
    write_file_atomic(staged.path() / kTrainerStateFile, state.dump(2) + "\n");
    staged.commit();
    prune_checkpoints(config_.checkpoint_dir, config_.keep_checkpoints);
    if (callbacks_.on_checkpoint) callbacks_.on_checkpoint(dir, step_);
  }
  if (group_) group_->barrier();
  result_.last_checkpoint = dir;
}

void Trainer::save_output(const std::filesystem::path& output_dir) {
  if (dist_.rank != 0) return;
  if (lora_) {
    StagingDir staged(output_dir);
    lora_->save_files(staged.path());
    staged.commit();
  } else {
    save_model(*model_, output_dir,
               SaveOptions{.dtype = config_.save_dtype, .copy_files_from = model_dir_});
  }
}

}  // namespace enclave::train::detail
