// Objectives: how a micro-batch of examples becomes a loss, for the
// training loop (train.cpp). The loop hands out global batches; an
// objective pads its examples into tensors, runs the model, and returns
// metric sums that add up across micro-batches and processes. Entry 0 of
// the sums is the loss already divided by the global batch's normaliser,
// so summing over micro-batches and processes gives the global mean and
// the gradients of the accumulated backward passes are those of one big
// batch.
//   LmObjective:  next-token loss over target tokens (pretrain, sft);
//                 normaliser = target tokens in the global batch.
//   DpoObjective: DPO / IPO on preference pairs against cached reference
//                 log-probs; normaliser = pairs in the global batch.
// Thread safety: used by the training thread only.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/transformer.h"
#include "train/dataset.h"
#include "train/token_cache.h"
#include "train/train_config.h"

namespace enclave::train {

class Objective {
 public:
  virtual ~Objective() = default;
  virtual std::size_t size() const = 0;
  // Padded tokens one example costs in a micro-batch (its row count x length).
  virtual std::int64_t cost(std::size_t index) const = 0;
  // Tokens one example feeds the model (for tokens/s).
  virtual std::int64_t tokens(std::size_t index) const = 0;
  virtual double normaliser(const std::vector<std::size_t>& global_batch) const = 0;
  // Names of the sums `run` returns (entry 0: "loss").
  virtual std::vector<std::string> sum_names() const = 0;
  // Forward (and backward when grad mode is on) over the micro-batch.
  virtual std::vector<double> run(TransformerImpl& model, const std::vector<std::size_t>& micro,
                                  double normaliser) = 0;
  // Report metrics from global sums: {"loss", ...}.
  virtual std::map<std::string, double> metrics(const std::vector<double>& sums,
                                                double normaliser) const;
};

class LmObjective : public Objective {
 public:
  explicit LmObjective(const std::vector<SequenceExample>& examples);
  // Sequences read where they lie (a mapped token cache file): a micro-batch
  // touches only its own rows.
  explicit LmObjective(std::shared_ptr<const PackedSequences> sequences);
  std::size_t size() const override { return sequences_->size(); }
  std::int64_t cost(std::size_t index) const override;
  std::int64_t tokens(std::size_t index) const override;
  double normaliser(const std::vector<std::size_t>& global_batch) const override;
  std::vector<std::string> sum_names() const override { return {"loss"}; }
  std::vector<double> run(TransformerImpl& model, const std::vector<std::size_t>& micro,
                          double normaliser) override;

 private:
  std::shared_ptr<const PackedSequences> sequences_;
};

class DpoObjective : public Objective {
 public:
  // Pairs as pack_pairs and a DPO token cache lay them out (mapped, so the
  // data need not fit in memory).
  DpoObjective(std::shared_ptr<const PackedSequences> pairs, double beta, DpoLossType type,
               double label_smoothing);
  std::size_t size() const override { return n_pairs_; }
  std::int64_t cost(std::size_t index) const override;
  std::int64_t tokens(std::size_t index) const override;
  double normaliser(const std::vector<std::size_t>& global_batch) const override;
  std::vector<std::string> sum_names() const override;
  std::vector<double> run(TransformerImpl& model, const std::vector<std::size_t>& micro,
                          double normaliser) override;
  std::map<std::string, double> metrics(const std::vector<double>& sums,
                                        double normaliser) const override;

  // Sequence log-probs (chosen, rejected) of the examples under the model as
  // it is (no grad): (n, 2) fp32, the values `run` would use as policy.
  torch::Tensor logps(TransformerImpl& model, const std::vector<std::size_t>& micro);
  // The reference log-probs for all examples, (size(), 2) fp32 on the CPU.
  void set_reference(torch::Tensor reference);
  const torch::Tensor& reference() const { return reference_; }

 private:
  std::span<const TokenId> prompt(std::size_t i) const { return pairs_->ids(3 * i); }
  std::span<const TokenId> completion(std::size_t i, bool chosen) const {
    return pairs_->ids(3 * i + (chosen ? 1 : 2));
  }

  std::shared_ptr<const PackedSequences> pairs_;
  std::size_t n_pairs_ = 0;
  double beta_;
  DpoLossType type_;
  double label_smoothing_;
  torch::Tensor reference_;
};

}  // namespace enclave::train
