#include "train/objectives.h"

#include <algorithm>

#include "core/error.h"
#include "train/losses.h"

namespace enclave::train {
namespace {

struct Row {
  std::vector<std::int64_t> ids;
  std::vector<bool> targets;
};

// Right-pads rows with id 0 (never a target; causal attention keeps real
// tokens from seeing pads) into ids (B, T) int64 and targets (B, T) bool.
std::pair<torch::Tensor, torch::Tensor> pad_rows(const std::vector<Row>& rows,
                                                 const torch::Device& device) {
  std::size_t longest = 0;
  for (const Row& r : rows) longest = std::max(longest, r.ids.size());
  const auto B = static_cast<std::int64_t>(rows.size());
  const auto T = static_cast<std::int64_t>(longest);
  torch::Tensor ids = torch::zeros({B, T}, torch::kInt64);
  torch::Tensor targets = torch::zeros({B, T}, torch::kBool);
  auto id_acc = ids.accessor<std::int64_t, 2>();
  auto target_acc = targets.accessor<bool, 2>();
  for (std::int64_t b = 0; b < B; ++b) {
    const Row& r = rows[static_cast<std::size_t>(b)];
    for (std::size_t t = 0; t < r.ids.size(); ++t) {
      id_acc[b][static_cast<std::int64_t>(t)] = r.ids[t];
      target_acc[b][static_cast<std::int64_t>(t)] = r.targets[t];
    }
  }
  return {ids.to(device), targets.to(device)};
}

Row completion_row(std::span<const TokenId> prompt, std::span<const TokenId> completion) {
  Row r;
  r.ids.assign(prompt.begin(), prompt.end());
  r.ids.insert(r.ids.end(), completion.begin(), completion.end());
  r.targets.assign(prompt.size(), false);
  r.targets.insert(r.targets.end(), completion.size(), true);
  r.targets[0] = false;
  return r;
}

}  // namespace

std::map<std::string, double> Objective::metrics(const std::vector<double>& sums, double) const {
  return {{"loss", sums.at(0)}};
}

LmObjective::LmObjective(const std::vector<SequenceExample>& examples)
    : LmObjective(std::make_shared<const PackedSequences>(examples)) {}

LmObjective::LmObjective(std::shared_ptr<const PackedSequences> sequences)
    : sequences_(std::move(sequences)) {
  if (sequences_->size() == 0) fail_input("training data: no sequences to train on");
}

std::int64_t LmObjective::cost(std::size_t index) const {
  return static_cast<std::int64_t>(sequences_->ids(index).size());
}

std::int64_t LmObjective::tokens(std::size_t index) const { return cost(index); }

double LmObjective::normaliser(const std::vector<std::size_t>& global_batch) const {
  std::int64_t n = 0;
  for (std::size_t i : global_batch) n += sequences_->n_targets(i);
  return static_cast<double>(std::max<std::int64_t>(n, 1));
}

std::vector<double> LmObjective::run(TransformerImpl& model, const std::vector<std::size_t>& micro,
                                     double normaliser) {
  std::vector<Row> rows;
  for (std::size_t i : micro) {
    const std::span<const TokenId> ids = sequences_->ids(i);
    const std::span<const std::uint8_t> targets = sequences_->targets(i);
    rows.push_back({std::vector<std::int64_t>(ids.begin(), ids.end()),
                    std::vector<bool>(targets.begin(), targets.end())});
    sequences_->release(i);  // copied: memory stays at a batch however much of the file is read
  }
  auto [ids, targets] = pad_rows(rows, model.device());
  auto [loss_sum, n] = lm_loss_sum(model, ids, targets);
  torch::Tensor loss = loss_sum / normaliser;
  if (torch::GradMode::is_enabled() && n > 0) loss.backward();
  return {loss.item<double>()};
}


DpoObjective::DpoObjective(std::shared_ptr<const PackedSequences> pairs, double beta,
                           DpoLossType type, double label_smoothing)
    : pairs_(std::move(pairs)),
      n_pairs_(pairs_->size() / 3),
      beta_(beta),
      type_(type),
      label_smoothing_(label_smoothing) {
  ENCLAVE_CHECK(pairs_->size() % 3 == 0);
  if (n_pairs_ == 0) fail_input("preference data: no pairs to train on");
}

std::int64_t DpoObjective::cost(std::size_t index) const {
  ENCLAVE_CHECK(index < n_pairs_);
  return 2 * static_cast<std::int64_t>(
                 prompt(index).size() +
                 std::max(completion(index, true).size(), completion(index, false).size()));
}

std::int64_t DpoObjective::tokens(std::size_t index) const {
  ENCLAVE_CHECK(index < n_pairs_);
  return static_cast<std::int64_t>(2 * prompt(index).size() + completion(index, true).size() +
                                   completion(index, false).size());
}

double DpoObjective::normaliser(const std::vector<std::size_t>& global_batch) const {
  return static_cast<double>(std::max<std::size_t>(global_batch.size(), 1));
}

std::vector<std::string> DpoObjective::sum_names() const {
  return {"loss",         "rewards/chosen", "rewards/rejected", "rewards/accuracies",
          "logps/chosen", "logps/rejected"};
}

torch::Tensor DpoObjective::logps(TransformerImpl& model, const std::vector<std::size_t>& micro) {
  std::vector<Row> rows;
  for (bool chosen : {true, false}) {
    for (std::size_t i : micro) {
      ENCLAVE_CHECK(i < n_pairs_);
      rows.push_back(completion_row(prompt(i), completion(i, chosen)));
    }
  }
  for (std::size_t i : micro) {
    for (std::size_t part = 0; part < 3; ++part) pairs_->release(3 * i + part);
  }
  auto [ids, targets] = pad_rows(rows, model.device());
  SequenceLogps s = sequence_logps(model, ids, targets);
  torch::Tensor values = s.sum;
  // IPO compares length-averaged log-probs (TRL's ipo branch).
  if (type_ == DpoLossType::kIpo) values = values / s.count.clamp_min(1).to(torch::kFloat32);
  const auto n = static_cast<std::int64_t>(micro.size());
  return torch::stack({values.slice(0, 0, n), values.slice(0, n, 2 * n)}, 1);  // (n, 2)
}

void DpoObjective::set_reference(torch::Tensor reference) {
  ENCLAVE_CHECK(reference.dim() == 2 && reference.size(0) == static_cast<std::int64_t>(n_pairs_));
  reference_ = reference.to(torch::kCPU, torch::kFloat32).contiguous();
}

std::vector<double> DpoObjective::run(TransformerImpl& model, const std::vector<std::size_t>& micro,
                                      double normaliser) {
  ENCLAVE_CHECK(reference_.defined());
  torch::Tensor policy = logps(model, micro);
  std::vector<std::int64_t> index(micro.begin(), micro.end());
  torch::Tensor ref =
      reference_.index_select(0, torch::tensor(index, torch::kInt64)).to(policy.device());
  DpoLoss d = dpo_loss(policy.select(1, 0), policy.select(1, 1), ref.select(1, 0), ref.select(1, 1),
                       beta_, type_, label_smoothing_);
  torch::Tensor loss = d.losses.sum() / normaliser;
  if (torch::GradMode::is_enabled()) loss.backward();
  torch::Tensor p = policy.detach();
  return {loss.item<double>(),
          d.chosen_rewards.sum().item<double>(),
          d.rejected_rewards.sum().item<double>(),
          (d.chosen_rewards > d.rejected_rewards).sum().item<double>(),
          p.select(1, 0).sum().item<double>(),
          p.select(1, 1).sum().item<double>()};
}

std::map<std::string, double> DpoObjective::metrics(const std::vector<double>& sums,
                                                    double normaliser) const {
  std::map<std::string, double> out;
  const std::vector<std::string> names = sum_names();
  out["loss"] = sums.at(0);
  for (std::size_t i = 1; i < names.size(); ++i) out[names[i]] = sums.at(i) / normaliser;
  out["rewards/margins"] = out["rewards/chosen"] - out["rewards/rejected"];
  return out;
}

}  // namespace enclave::train
