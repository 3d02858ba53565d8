// Training losses on top of the model's hidden states.
//
// Next-token loss: only target positions go through lm_head (prompt tokens
// of SFT never build (T, V) logits), with log-softmax in fp32.
//
// DPO (Rafailov et al. 2023, "Direct Preference Optimization"): with
// h = (log pi(y_w|x) - log pi(y_l|x)) - (log ref(y_w|x) - log ref(y_l|x)),
//   sigmoid: -(1 - eps) log sigmoid(beta h) - eps log sigmoid(-beta h)
//            (eps = label smoothing, the "conservative DPO" of TRL)
//   ipo:     (h - 1 / (2 beta))^2 with length-averaged log-probs
//            (Azar et al. 2023, as TRL computes it)
// rewards = beta (log pi - log ref), detached, as TRL logs them.
// Thread safety: stateless functions.
#pragma once

#include <torch/torch.h>

#include "model/transformer.h"
#include "train/train_config.h"

namespace enclave::train {

// Summed log-probabilities of the target tokens of each row.
// ids: (B, T) int64; targets: (B, T) bool, targets[:, 0] false. Returns
// {logp_sum (B) fp32, n_targets (B) int64}.
struct SequenceLogps {
  torch::Tensor sum;
  torch::Tensor count;
};
SequenceLogps sequence_logps(TransformerImpl& model, const torch::Tensor& ids,
                             const torch::Tensor& targets);

// Sum over all target tokens of -log p (fp32 scalar) and their count.
std::pair<torch::Tensor, std::int64_t> lm_loss_sum(TransformerImpl& model, const torch::Tensor& ids,
                                                   const torch::Tensor& targets);

struct DpoLoss {
  torch::Tensor losses;            // (B) per pair
  torch::Tensor chosen_rewards;    // (B) detached
  torch::Tensor rejected_rewards;  // (B) detached
};
// All inputs (B) fp32: sequence log-probs (sums, or means for IPO) of the
// policy and the reference.
DpoLoss dpo_loss(const torch::Tensor& policy_chosen, const torch::Tensor& policy_rejected,
                 const torch::Tensor& reference_chosen, const torch::Tensor& reference_rejected,
                 double beta, DpoLossType type, double label_smoothing);

}  // namespace enclave::train
