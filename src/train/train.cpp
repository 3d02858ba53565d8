#include "train/train.h"

#include <fmt/format.h>

#include <atomic>

#include "train/trainer.h"

namespace enclave::train {
namespace {

std::atomic<bool> g_stop_requested{false};

}  // namespace

namespace detail {

using nlohmann::json;

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
  const bool language_model =
      config_.mode == TrainMode::kPretrain || config_.mode == TrainMode::kSft;
  // Every file streamed, tokenised on every core and cached by content;
  // read mapped, so no data set is ever held whole in memory.
  auto tokens_of = [&](const std::filesystem::path& file) {
    TokenizedData tokens =
        tokenize_cached(file, builder, config_.mode,
                        {.cache_dir = data_.token_cache_dir,
                         .tokenizer_key = tokenizer_key(model_dir_),
                         .max_length = config_.max_length,
                         .threads = 0});  // every core: tokenising is over before training starts
    message(fmt::format("data: {}: token cache {} {}", file.filename().string(),
                        tokens.cache_hit ? "read from" : "wrote", tokens.key.substr(0, 16)));
    return tokens;
  };
  auto objective_of =
      [&](std::shared_ptr<const PackedSequences> sequences) -> std::unique_ptr<Objective> {
    if (language_model) return std::make_unique<LmObjective>(std::move(sequences));
    return std::make_unique<DpoObjective>(std::move(sequences), config_.beta, config_.loss_type,
                                          config_.label_smoothing);
  };
  std::shared_ptr<const PackedSequences> sequences;
  if (config_.mode == TrainMode::kSdpo && config_.sdpo_split == SdpoSplit::kFiles) {
    // One cache per chunk file, read as one list of pairs.
    std::vector<std::shared_ptr<const PackedSequences>> parts;
    result_.token_cache_hit = true;
    for (std::size_t f = 0; f < data_.chunk_files.size(); ++f) {
      TokenizedData tokens = tokens_of(data_.chunk_files[f]);
      chunk_of_file_.insert(chunk_of_file_.end(), tokens.sequences->size() / 3,
                            static_cast<std::int64_t>(f));
      result_.token_cache_key += (f == 0 ? "" : ",") + tokens.key;
      result_.token_cache_hit = result_.token_cache_hit && tokens.cache_hit;
      parts.push_back(std::move(tokens.sequences));
    }
    sequences = std::make_shared<const PackedSequences>(std::move(parts));
  } else {
    TokenizedData tokens = tokens_of(data_.train_file);
    result_.token_cache_key = tokens.key;
    result_.token_cache_hit = tokens.cache_hit;
    sequences = std::move(tokens.sequences);
    if (config_.mode == TrainMode::kSdpo && config_.sdpo_split == SdpoSplit::kField)
      sdpo_field_values_ = read_field_values(data_.train_file, config_.sdpo_field);
  }
  BuildStats stats = sequences->stats();
  if (!language_model)
    stats.n_sequences = stats.n_records;  // a pair per record, three sequences each
  objective_ = objective_of(std::move(sequences));
  message(fmt::format("data: {} records -> {} sequences, {} tokens, {} truncated at max_length {}",
                      stats.n_records, stats.n_sequences, stats.n_tokens, stats.n_truncated,
                      config_.max_length));
  if (!data_.eval_file.empty())
    eval_objective_ = objective_of(tokens_of(data_.eval_file).sequences);
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

}  // namespace detail

TrainResult train(const TrainConfig& config, const std::filesystem::path& model_dir,
                  const TrainData& data, const std::filesystem::path& output_dir,
                  const TrainCallbacks& callbacks, const DistOptions& dist) {
  detail::Trainer trainer(config, model_dir, data, callbacks, dist);
  return trainer.run(output_dir);
}

void request_stop() { g_stop_requested.store(true); }
void clear_stop_request() { g_stop_requested.store(false); }

}  // namespace enclave::train
