#include "train/losses.h"

#include "core/error.h"

namespace enclave::train {
namespace {

// Hidden states of the positions that predict a target: (N, C), with the
// predicted ids (N) and the row of each (N).
struct Picked {
  torch::Tensor hidden;
  torch::Tensor labels;
  torch::Tensor rows;
};

Picked pick_targets(TransformerImpl& model, const torch::Tensor& ids,
                    const torch::Tensor& targets) {
  ENCLAVE_CHECK(ids.dim() == 2 && targets.sizes() == ids.sizes());
  const std::int64_t B = ids.size(0);
  const std::int64_t T = ids.size(1);
  torch::Tensor hidden = model.forward_hidden(ids);  // (B, T, C)
  // Position t predicts ids[t + 1].
  torch::Tensor mask = targets.slice(1, 1, T);  // (B, T - 1)
  torch::Tensor flat = mask.reshape({-1}).nonzero().squeeze(1);
  torch::Tensor h = hidden.slice(1, 0, T - 1).reshape({B * (T - 1), -1}).index_select(0, flat);
  torch::Tensor labels = ids.slice(1, 1, T).reshape({-1}).index_select(0, flat);
  torch::Tensor rows = torch::div(flat, T - 1, "floor");
  return {h, labels, rows};
}

torch::Tensor picked_logps(TransformerImpl& model, const Picked& p) {
  torch::Tensor logits = model.logits(p.hidden).to(torch::kFloat32);  // (N, V)
  return torch::log_softmax(logits, -1).gather(1, p.labels.unsqueeze(1)).squeeze(1);
}

}  // namespace

SequenceLogps sequence_logps(TransformerImpl& model, const torch::Tensor& ids,
                             const torch::Tensor& targets) {
  Picked p = pick_targets(model, ids, targets);
  torch::Tensor logps = picked_logps(model, p);
  const std::int64_t B = ids.size(0);
  auto opts = torch::TensorOptions().device(ids.device());
  torch::Tensor sum = torch::zeros({B}, opts.dtype(torch::kFloat32)).index_add(0, p.rows, logps);
  torch::Tensor count =
      torch::zeros({B}, opts.dtype(torch::kInt64)).index_add(0, p.rows, torch::ones_like(p.rows));
  return {sum, count};
}

std::pair<torch::Tensor, std::int64_t> lm_loss_sum(TransformerImpl& model, const torch::Tensor& ids,
                                                   const torch::Tensor& targets) {
  Picked p = pick_targets(model, ids, targets);
  torch::Tensor logits = model.logits(p.hidden).to(torch::kFloat32);
  torch::Tensor loss = torch::nn::functional::cross_entropy(
      logits, p.labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  return {loss, p.labels.size(0)};
}

DpoLoss dpo_loss(const torch::Tensor& policy_chosen, const torch::Tensor& policy_rejected,
                 const torch::Tensor& reference_chosen, const torch::Tensor& reference_rejected,
                 double beta, DpoLossType type, double label_smoothing) {
  torch::Tensor h = (policy_chosen - policy_rejected) - (reference_chosen - reference_rejected);
  DpoLoss out;
  if (type == DpoLossType::kIpo) {
    out.losses = (h - 1.0 / (2.0 * beta)).pow(2);
  } else {
    out.losses = -torch::log_sigmoid(beta * h) * (1.0 - label_smoothing) -
                 torch::log_sigmoid(-beta * h) * label_smoothing;
  }
  out.chosen_rewards = (beta * (policy_chosen - reference_chosen)).detach();
  out.rejected_rewards = (beta * (policy_rejected - reference_rejected)).detach();
  return out;
}

}  // namespace enclave::train
