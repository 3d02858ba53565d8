#include "train/train.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/file.h"
#include "core/process_memory.h"
#include "core/staging_dir.h"
#include "model/lora.h"
#include "model/save.h"
#include "model/weights.h"
#include "train/adamw.h"
#include "train/autocast_scope.h"
#include "train/batching.h"
#include "train/checkpoint.h"
#include "train/distributed.h"
#include "train/dp_plan.h"
#include "train/dp_sgd.h"
#include "train/grad_checkpoint.h"
#include "train/objectives.h"
#include "train/schedule.h"
#include "train/sdpo.h"
#include "train/token_cache.h"

namespace enclave::train {
namespace {

std::atomic<bool> g_stop_requested{false};

using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  std::uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

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

// The examples of one phase: a list of indices (an sDPO chunk), or all of
// the objective's, held as a count (a large pretraining set has millions of
// sequences; a list would cost 8 bytes each).
struct PhaseExamples {
  std::size_t n_all = 0;         // with ids empty: examples 0 .. n_all - 1
  std::vector<std::size_t> ids;  // else these
  std::size_t size() const { return ids.empty() ? n_all : ids.size(); }
  std::size_t operator[](std::size_t i) const { return ids.empty() ? i : ids[i]; }
  std::vector<std::size_t> list() const {
    if (!ids.empty()) return ids;
    std::vector<std::size_t> out(n_all);
    for (std::size_t i = 0; i < n_all; ++i) out[i] = i;
    return out;
  }
};

// What one phase (all of training, or one sDPO chunk) steps through.
struct PhaseState {
  const PhaseExamples& examples;  // indices into the objective's examples
  DataOrder order;
  AdamW optimizer;
  LrSchedule schedule;
};

// Everything the loop works on. run() reads as the loop does: per phase
// begin_phase(), then per step train_step(), maybe_evaluate(),
// maybe_checkpoint(); finish() evaluates and saves the result.
class Trainer {
 public:
  Trainer(const TrainConfig& config, const std::filesystem::path& model_dir, const TrainData& data,
          const TrainCallbacks& callbacks, const DistOptions& dist);
  TrainResult run(const std::filesystem::path& output_dir);

 private:
  void load_model();
  void load_data();
  void resume_from(const std::filesystem::path& checkpoint);
  std::int64_t phase_steps(std::size_t phase) const;
  void set_reference(DpoObjective& objective, const std::vector<std::size_t>& indices,
                     bool base_model);
  std::vector<double> reduce(std::vector<double> values);
  void all_reduce_grads();
  // This process's share of batch through the objective, in micro-batches;
  // the sums of its terms (not yet reduced across processes).
  std::vector<double> run_objective(Objective& objective, const std::vector<std::size_t>& batch,
                                    double normaliser);
  std::map<std::string, double> evaluate();
  // The example indices of each phase: all of them, or sDPO's chunks.
  void plan_phases();
  // DP-SGD: the noise multiplier for the run's budget, the shared seed.
  void setup_dp();
  // A fresh phase sets its DPO references; a resumed one restores its data
  // position and optimiser state.
  void begin_phase(PhaseState& phase);
  // One optimiser step over the next batch; true when a stop was requested.
  bool train_step(PhaseState& phase);
  // Validation every eval_every steps (not the last), and early stopping.
  void maybe_evaluate();
  // A checkpoint every save_every steps, and on a stop request.
  void maybe_checkpoint(const PhaseState& phase, bool stop);
  // The final validation and the output directory.
  void finish(const std::filesystem::path& output_dir);
  void save_checkpoint(const DataOrder& order, const AdamW& optimizer);
  void save_output(const std::filesystem::path& output_dir);
  void message(const std::string& text) const {
    if (callbacks_.on_message && dist_.rank == 0) callbacks_.on_message(text);
  }

  TrainConfig config_;
  std::filesystem::path model_dir_;
  TrainData data_;
  TrainCallbacks callbacks_;
  DistOptions dist_;
  std::unique_ptr<ProcessGroup> group_;
  torch::Device device_{torch::kCPU};

  Transformer model_{nullptr};
  std::shared_ptr<LoraAdapter> lora_;
  std::vector<std::pair<std::string, torch::Tensor>> trainable_;
  std::unique_ptr<Objective> objective_;
  std::unique_ptr<Objective> eval_objective_;
  std::vector<PhaseExamples> phases_;  // example indices of each phase (sdpo chunks)
  std::vector<std::int64_t> chunk_of_file_;
  std::vector<nlohmann::json> sdpo_field_values_;  // sdpo_split field: each record's value

  // Position (restored on resume).
  std::int64_t step_ = 0;
  std::size_t phase_ = 0;
  std::int64_t phase_step_ = 0;
  DataPosition data_position_;
  std::map<std::string, torch::Tensor>
      optimizer_state_;  // from a checkpoint, for the resumed phase
  double best_eval_ = std::numeric_limits<double>::infinity();
  std::int64_t evals_without_improvement_ = 0;
  TrainResult result_;

  // DP-SGD (set by setup_dp when dp_epsilon is).
  std::unique_ptr<DpSgd> dp_;
  std::unique_ptr<DpPlan> dp_plan_;

  // Set by run().
  std::int64_t total_steps_ = 0;
  Clock::time_point start_;
  std::vector<torch::Tensor> params_;  // the trainable tensors, for clipping
};

Trainer::Trainer(const TrainConfig& config, const std::filesystem::path& model_dir,
                 const TrainData& data, const TrainCallbacks& callbacks, const DistOptions& dist)
    : config_(config), model_dir_(model_dir), data_(data), callbacks_(callbacks), dist_(dist) {
  resolve_defaults(config_);
  if (config_.threads > 0) torch::set_num_threads(static_cast<int>(config_.threads));
  device_ = parse_device(config_.device);
  // Data parallel on GPUs: each process of a machine takes its own card, as
  // torchrun's LOCAL_RANK does, unless the device names one.
  if (device_.is_cuda() && !device_.has_index() && dist_.world_size > 1) {
    device_ =
        torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(dist_.rank % config_.nproc));
  }
  if (dist_.world_size > 1) group_ = std::make_unique<ProcessGroup>(dist_);
  load_model();
  reset_peak_rss();
  result_.rss_kb_before_data = proc_status_kb("VmRSS");
  load_data();
  result_.peak_rss_kb_data = proc_status_kb("VmHWM");
  if (!config_.resume.empty()) resume_from(resolve_resume(config_.resume, config_.checkpoint_dir));
}

void Trainer::load_model() {
  const ModelConfig mc = load_model_config(model_dir_ / "config.json");
  const torch::Dtype dtype =
      config_.precision == Precision::kBf16 ? torch::kBFloat16 : torch::kFloat32;
  model_ = Transformer(mc, dtype);
  load_weights(*model_, WeightFiles(model_dir_),
               LoadOptions{.device = device_, .allow_mmap = false});
  for (const auto& p : model_->parameters()) result_.n_parameters += p.numel();
  if (config_.lora) {
    for (auto& p : model_->parameters()) p.requires_grad_(false);
    LoraConfig lc;
    lc.r = config_.lora_r;
    lc.alpha = config_.lora_alpha;
    lc.dropout = config_.lora_dropout;
    lc.target_modules = config_.lora_target_modules;
    lc.use_rslora = config_.use_rslora;
    lc.base_model_name_or_path = config_.model;
    lora_ = LoraAdapter::attach_new(*model_, lc, config_.seed);
    lora_->set_training(true);
    trainable_ = lora_->named_parameters();
  } else {
    for (const auto& item : model_->named_parameters())
      trainable_.emplace_back(item.key(), item.value());
  }
  for (const auto& [name, t] : trainable_) result_.n_trainable += t.numel();
  result_.adapter = config_.lora;
  set_gradient_checkpointing(*model_, config_.gradient_checkpointing);
}

void Trainer::load_data() {
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(model_dir_);
  ExampleBuilder builder(*tokenizer, load_chat_template(model_dir_), config_.max_length);
  BuildStats stats;
  auto build = [&](const std::vector<Record>& records) -> std::unique_ptr<Objective> {
    switch (config_.mode) {
      case TrainMode::kPretrain:
        return std::make_unique<LmObjective>(builder.pretrain(records, &stats));
      case TrainMode::kSft:
        return std::make_unique<LmObjective>(builder.sft(records, &stats));
      case TrainMode::kDpo:
      case TrainMode::kSdpo:
        break;
    }
    return std::make_unique<DpoObjective>(builder.preference(records, &stats), config_.beta,
                                          config_.loss_type, config_.label_smoothing);
  };
  if (config_.mode == TrainMode::kSdpo && config_.sdpo_split == SdpoSplit::kFiles) {
    std::vector<Record> all;
    for (std::size_t f = 0; f < data_.chunk_files.size(); ++f) {
      for (Record& r : read_jsonl(data_.chunk_files[f])) {
        all.push_back(std::move(r));
        chunk_of_file_.push_back(static_cast<std::int64_t>(f));
      }
    }
    objective_ = build(all);
  } else {
    // Streamed, tokenised on every core and cached by content; read mapped.
    TokenizedData tokens =
        tokenize_cached(data_.train_file, builder, config_.mode,
                        {.cache_dir = data_.token_cache_dir,
                         .tokenizer_key = tokenizer_key(model_dir_),
                         .max_length = config_.max_length,
                         .threads = 0});  // every core: tokenising is over before training starts
    stats = tokens.sequences->stats();
    result_.token_cache_key = tokens.key;
    result_.token_cache_hit = tokens.cache_hit;
    message(fmt::format("data: {} token cache {}", tokens.cache_hit ? "read from" : "wrote",
                        tokens.key.substr(0, 16)));
    if (config_.mode == TrainMode::kPretrain || config_.mode == TrainMode::kSft) {
      objective_ = std::make_unique<LmObjective>(std::move(tokens.sequences));
    } else {
      stats.n_sequences = stats.n_records;  // a pair per record, three sequences each
      objective_ = std::make_unique<DpoObjective>(std::move(tokens.sequences), config_.beta,
                                                  config_.loss_type, config_.label_smoothing);
      if (config_.mode == TrainMode::kSdpo && config_.sdpo_split == SdpoSplit::kField)
        sdpo_field_values_ = read_field_values(data_.train_file, config_.sdpo_field);
    }
  }
  message(fmt::format("data: {} records -> {} sequences, {} tokens, {} truncated at max_length {}",
                      stats.n_records, stats.n_sequences, stats.n_tokens, stats.n_truncated,
                      config_.max_length));
  if (!data_.eval_file.empty()) eval_objective_ = build(read_jsonl(data_.eval_file));
}

std::int64_t Trainer::phase_steps(std::size_t phase) const {
  if (config_.max_steps > 0) {
    const auto n = static_cast<std::int64_t>(phases_.size());
    // sDPO shares max_steps between its chunks, the first ones taking the remainder.
    return config_.max_steps / n +
           (static_cast<std::int64_t>(phase) < config_.max_steps % n ? 1 : 0);
  }
  const double examples = static_cast<double>(phases_.at(phase).size()) * config_.epochs;
  return std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::ceil(examples / static_cast<double>(config_.batch_size))));
}

std::vector<double> Trainer::reduce(std::vector<double> values) {
  if (!group_) return values;
  torch::Tensor t = torch::tensor(values, torch::kFloat64);
  group_->all_reduce_sum({t});
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

void Trainer::all_reduce_grads() {
  if (!group_) return;
  std::map<torch::ScalarType, std::vector<torch::Tensor>> by_dtype;
  for (auto& [name, p] : trainable_) {
    // A process whose share never touched a parameter still takes part.
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    by_dtype[p.grad().scalar_type()].push_back(p.grad());
  }
  for (auto& [dtype, grads] : by_dtype) group_->all_reduce_sum(grads);
}

void Trainer::set_reference(DpoObjective& objective, const std::vector<std::size_t>& indices,
                            bool base_model) {
  torch::NoGradGuard no_grad;
  AutocastScope autocast(config_.precision == Precision::kBf16Autocast);
  if (lora_) {
    lora_->set_training(false);
    lora_->set_enabled(!base_model);  // the frozen base is the reference, no second copy
  }
  torch::Tensor reference =
      torch::zeros({static_cast<std::int64_t>(objective.size()), 2}, torch::kFloat64);
  const std::vector<std::size_t> mine = shard_batch(indices, dist_.rank, dist_.world_size);
  for (const auto& micro : micro_batches(
           mine, [&](std::size_t i) { return objective.cost(i); }, config_.micro_batch_tokens)) {
    torch::Tensor lp = objective.logps(*model_, micro).to(torch::kCPU, torch::kFloat64);
    std::vector<std::int64_t> rows(micro.begin(), micro.end());
    reference.index_copy_(0, torch::tensor(rows, torch::kInt64), lp);
  }
  if (group_) group_->all_reduce_sum({reference});  // each row is non-zero on one process only
  objective.set_reference(reference.to(torch::kFloat32));
  if (lora_) {
    lora_->set_enabled(true);
    lora_->set_training(true);
  }
}

std::vector<double> Trainer::run_objective(Objective& objective,
                                           const std::vector<std::size_t>& batch,
                                           double normaliser) {
  std::vector<double> sums(objective.sum_names().size(), 0.0);
  const std::vector<std::size_t> mine = shard_batch(batch, dist_.rank, dist_.world_size);
  for (const auto& micro : micro_batches(
           mine, [&](std::size_t i) { return objective.cost(i); }, config_.micro_batch_tokens)) {
    std::vector<double> s = objective.run(*model_, micro, normaliser);
    for (std::size_t i = 0; i < s.size(); ++i) sums[i] += s[i];
  }
  return sums;
}

std::map<std::string, double> Trainer::evaluate() {
  std::map<std::string, double> out;
  if (!eval_objective_) return out;
  torch::NoGradGuard no_grad;
  AutocastScope autocast(config_.precision == Precision::kBf16Autocast);
  if (lora_) lora_->set_training(false);
  std::vector<std::size_t> all(eval_objective_->size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  const double normaliser = eval_objective_->normaliser(all);
  const std::vector<double> sums = reduce(run_objective(*eval_objective_, all, normaliser));
  for (const auto& [key, value] : eval_objective_->metrics(sums, normaliser))
    out["eval/" + key] = value;
  if (lora_) lora_->set_training(true);
  return out;
}

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

void Trainer::plan_phases() {
  const PhaseExamples everything{objective_->size(), {}};
  if (config_.mode != TrainMode::kSdpo) {
    phases_ = {everything};
    return;
  }
  const std::vector<std::size_t> all = everything.list();
  auto* dpo = dynamic_cast<DpoObjective*>(objective_.get());
  std::vector<double> margins;
  if (config_.sdpo_split == SdpoSplit::kMargin) {
    set_reference(*dpo, all, /*base_model=*/true);
    torch::Tensor ref = dpo->reference().to(torch::kFloat64);
    torch::Tensor m = (ref.select(1, 0) - ref.select(1, 1)).contiguous();
    margins.assign(m.data_ptr<double>(), m.data_ptr<double>() + m.numel());
  }
  phases_.clear();
  for (std::vector<std::size_t>& chunk :
       sdpo_chunks(config_, dpo->size(), sdpo_field_values_, margins, chunk_of_file_))
    phases_.push_back({0, std::move(chunk)});
  if (config_.max_steps > 0 && config_.max_steps < static_cast<std::int64_t>(phases_.size())) {
    fail_input("sdpo: max_steps {} is fewer than the {} chunks; each chunk needs at least one step",
               config_.max_steps, phases_.size());
  }
}

void Trainer::setup_dp() {
  dp_plan_ = std::make_unique<DpPlan>(config_, static_cast<std::int64_t>(phases_.at(0).size()),
                                      total_steps_);
  // Rank 0's seed (52 bits, exact as a double) reaches every process, so all
  // sample and add the same.
  std::vector<double> seed = reduce({dist_.rank == 0 ? static_cast<double>(dp_entropy_seed()) : 0});
  dp_ = std::make_unique<DpSgd>(
      params_,
      DpSgdOptions{.noise_multiplier = dp_plan_->noise_multiplier(),
                   .max_grad_norm = *config_.dp_max_grad_norm,
                   .expected_batch_size = static_cast<double>(config_.batch_size)},
      static_cast<std::uint64_t>(seed.at(0)));
  result_.dp = dp_plan_->result();
  message(dp_plan_->description());
}

void Trainer::begin_phase(PhaseState& phase) {
  if (!optimizer_state_.empty()) {  // continuing the phase a checkpoint stopped in
    phase.order.seek(data_position_);
    phase.optimizer.load_state(optimizer_state_, "optimizer.safetensors");
    optimizer_state_.clear();
    return;
  }
  phase_step_ = 0;
  // Each phase's reference is the model as the phase starts; phase 0's is the base.
  if (auto* dpo = dynamic_cast<DpoObjective*>(objective_.get()))
    set_reference(*dpo, phase.examples.list(), /*base_model=*/phase_ == 0);
  if (auto* eval_dpo = dynamic_cast<DpoObjective*>(eval_objective_.get())) {
    std::vector<std::size_t> all(eval_dpo->size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    set_reference(*eval_dpo, all, /*base_model=*/phase_ == 0);
  }
  if (phases_.size() > 1)
    message(fmt::format("sdpo: chunk {}/{} with {} pairs", phase_ + 1, phases_.size(),
                        phase.examples.size()));
}

bool Trainer::train_step(PhaseState& phase) {
  std::vector<std::size_t> batch;
  const std::vector<std::size_t> picked =
      dp_ ? dp_->sample(phase.examples.size(), dp_plan_->sampling_rate())
          : phase.order.next(static_cast<std::size_t>(config_.batch_size));
  for (std::size_t i : picked) batch.push_back(phase.examples[i]);
  const double normaliser = objective_->normaliser(batch);
  std::int64_t tokens = 0;
  for (std::size_t i : batch) tokens += objective_->tokens(i);
  torch::manual_seed(mix(mix(config_.seed, static_cast<std::uint64_t>(step_)),
                         static_cast<std::uint64_t>(dist_.rank)));
  std::vector<double> sums;
  double n_clipped = 0;
  {
    AutocastScope scope(config_.precision == Precision::kBf16Autocast);
    if (dp_) {
      PrivateBatch b = add_examples(*dp_, *objective_, *model_,
                                    shard_batch(batch, dist_.rank, dist_.world_size), normaliser);
      sums = std::move(b.sums);
      n_clipped = static_cast<double>(b.n_clipped);
    } else {
      sums = run_objective(*objective_, batch, normaliser);
    }
  }
  if (dp_) {
    if (group_) group_->all_reduce_sum(dp_->clipped_sums());
  } else {
    all_reduce_grads();
  }
  // The stop request travels with the sums so every process stops at the same step.
  sums.push_back(n_clipped);
  sums.push_back(g_stop_requested.load() ? 1.0 : 0.0);
  sums = reduce(sums);
  bool stop = sums.back() > 0;
  sums.pop_back();
  n_clipped = sums.back();
  sums.pop_back();
  // Under DP the per-example bound replaces global clipping (which would
  // mostly scale the noise); the norm reported is the noisy gradient's.
  const double grad_norm =
      dp_ ? dp_->finish_step() : clip_grad_norm(params_, config_.max_grad_norm);
  const double lr = phase.schedule.lr_at(phase_step_);
  phase.optimizer.step(lr);
  phase.optimizer.zero_grad();
  ++step_;

  StepReport report;
  report.step = step_;
  report.total_steps = total_steps_;
  report.extra = objective_->metrics(sums, normaliser);
  report.loss = report.extra["loss"];
  report.extra.erase("loss");
  if (dp_) {
    dp_plan_->record_step(step_, batch.size(), n_clipped, report);
    result_.dp = dp_plan_->result();
  }
  report.lr = lr;
  report.grad_norm = grad_norm;
  report.tokens = tokens;
  report.elapsed_s = std::chrono::duration<double>(Clock::now() - start_).count();
  report.tokens_per_s =
      report.elapsed_s > 0 ? static_cast<double>(result_.tokens + tokens) / report.elapsed_s : 0;
  result_.tokens += tokens;
  result_.losses.push_back(report.loss);
  if (callbacks_.on_step && dist_.rank == 0) callbacks_.on_step(report);

  // Alone, a stop requested during this step's callback takes effect now;
  // data-parallel processes agree on it in the next step's reduction.
  if (dist_.world_size == 1 && g_stop_requested.load()) stop = true;
  return stop;
}

void Trainer::maybe_evaluate() {
  // The last step's evaluation is the final one, run after the loop.
  if (config_.eval_every <= 0 || step_ % config_.eval_every != 0 || step_ == total_steps_) return;
  std::map<std::string, double> eval = evaluate();
  if (eval.empty()) return;
  if (callbacks_.on_eval && dist_.rank == 0) callbacks_.on_eval(step_, eval);
  if (eval["eval/loss"] < best_eval_) {
    best_eval_ = eval["eval/loss"];
    evals_without_improvement_ = 0;
  } else if (config_.early_stopping_patience > 0 &&
             ++evals_without_improvement_ >= config_.early_stopping_patience) {
    message(fmt::format(
        "early stopping at step {}: eval/loss has not improved on {:.6g} for {} evaluations", step_,
        best_eval_, evals_without_improvement_));
    result_.early_stopped = true;
  }
}

void Trainer::maybe_checkpoint(const PhaseState& phase, bool stop) {
  if (!stop && (config_.save_every <= 0 || step_ % config_.save_every != 0)) return;
  ++phase_step_;  // the checkpoint holds the position after this step
  save_checkpoint(phase.order, phase.optimizer);
  --phase_step_;
}

void Trainer::finish(const std::filesystem::path& output_dir) {
  result_.final_eval = evaluate();
  if (!result_.final_eval.empty() && callbacks_.on_eval && dist_.rank == 0)
    callbacks_.on_eval(step_, result_.final_eval);
  if (lora_) lora_->set_training(false);
  save_output(output_dir);
  if (group_) group_->barrier();
}

TrainResult Trainer::run(const std::filesystem::path& output_dir) {
  if (phases_.empty()) plan_phases();  // a resumed run has them from its checkpoint
  total_steps_ = 0;
  for (std::size_t k = 0; k < phases_.size(); ++k) total_steps_ += phase_steps(k);
  start_ = Clock::now();
  params_.clear();
  for (auto& [name, p] : trainable_) params_.push_back(p);
  if (dp_enabled(config_)) setup_dp();

  for (; phase_ < phases_.size(); ++phase_) {
    const std::int64_t steps = phase_steps(phase_);
    PhaseState phase{phases_[phase_], DataOrder(phases_[phase_].size(), mix(config_.seed, phase_)),
                     AdamW(trainable_, AdamWOptions{config_.adam_beta1, config_.adam_beta2,
                                                    config_.adam_epsilon, config_.weight_decay}),
                     LrSchedule(*config_.lr, config_.lr_scheduler, config_.warmup_steps, steps,
                                config_.min_lr_ratio)};
    begin_phase(phase);
    for (; phase_step_ < steps; ++phase_step_) {
      const bool stop = train_step(phase);
      maybe_evaluate();
      maybe_checkpoint(phase, stop);
      if (stop) {
        result_.interrupted = true;
        break;
      }
      if (result_.early_stopped) break;
    }
    if (result_.interrupted || result_.early_stopped) break;
  }
  result_.steps = step_;
  result_.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  result_.peak_rss_kb_end = proc_status_kb("VmHWM");
  if (!result_.interrupted) finish(output_dir);
  return result_;
}

}  // namespace

TrainResult train(const TrainConfig& config, const std::filesystem::path& model_dir,
                  const TrainData& data, const std::filesystem::path& output_dir,
                  const TrainCallbacks& callbacks, const DistOptions& dist) {
  Trainer trainer(config, model_dir, data, callbacks, dist);
  return trainer.run(output_dir);
}

void request_stop() { g_stop_requested.store(true); }
void clear_stop_request() { g_stop_requested.store(false); }

}  // namespace enclave::train
