#include "train/losses.h"

#include <gtest/gtest.h>

#include <cmath>

#include "model/weights.h"
#include "train/adamw.h"
#include "train/grad_checkpoint.h"
#include "train/objectives.h"
#include "train/train_test_util.h"

namespace enclave::train {
namespace {

Transformer load_small(const std::filesystem::path& dir, torch::Dtype dtype = torch::kFloat32) {
  Transformer model(testing::small_model_config(), dtype);
  load_weights(*model, WeightFiles(dir), LoadOptions{.device = torch::kCPU, .allow_mmap = false});
  return model;
}

class LossesTest : public ::testing::Test {
 protected:
  LossesTest() { testing::write_small_model(dir_ / "m", 5); }
  testing::ScratchDir dir_;
  torch::Tensor ids_ =
      torch::tensor({{1, 40, 41, 42, 43, 44}, {1, 50, 51, 52, 0, 0}}, torch::kInt64);
  torch::Tensor targets_ = torch::tensor({{0, 0, 1, 1, 1, 1}, {0, 1, 1, 1, 0, 0}}, torch::kBool);
};

TEST_F(LossesTest, MaskedLossesMatchFullLogSoftmax) {
  Transformer model = load_small(dir_ / "m");
  torch::NoGradGuard no_grad;
  torch::Tensor logp =
      torch::log_softmax(model->forward(ids_).to(torch::kFloat64), -1);  // (B, T, V)
  double expected_sum[2] = {0, 0};
  for (int b = 0; b < 2; ++b) {
    for (int t = 1; t < 6; ++t) {
      if (targets_[b][t].item<bool>())
        expected_sum[b] += logp[b][t - 1][ids_[b][t].item<std::int64_t>()].item<double>();
    }
  }
  SequenceLogps s = sequence_logps(*model, ids_, targets_);
  const double diff = std::max(std::abs(s.sum[0].item<double>() - expected_sum[0]),
                               std::abs(s.sum[1].item<double>() - expected_sum[1]));
  std::printf("sequence_logps vs full log_softmax: max diff %.3g\n", diff);
  EXPECT_LT(diff, 1e-4);
  EXPECT_EQ(s.count[0].item<std::int64_t>(), 4);
  EXPECT_EQ(s.count[1].item<std::int64_t>(), 3);
  auto [loss, n] = lm_loss_sum(*model, ids_, targets_);
  EXPECT_EQ(n, 7);
  EXPECT_NEAR(loss.item<double>(), -(expected_sum[0] + expected_sum[1]), 1e-3);
}

TEST(DpoLoss, MatchesTheFormulas) {
  torch::Tensor pc = torch::tensor({-1.0f, -2.0f}), pr = torch::tensor({-3.0f, -1.0f});
  torch::Tensor rc = torch::tensor({-1.5f, -2.0f}), rr = torch::tensor({-2.5f, -1.5f});
  const double beta = 0.5;
  // h = (pc - pr) - (rc - rr) = {2 - 1, -1 - (-0.5)} = {1, -0.5}
  DpoLoss s = dpo_loss(pc, pr, rc, rr, beta, DpoLossType::kSigmoid, 0.0);
  EXPECT_NEAR(s.losses[0].item<double>(), std::log1p(std::exp(-0.5)), 1e-6);
  EXPECT_NEAR(s.losses[1].item<double>(), std::log1p(std::exp(0.25)), 1e-6);
  EXPECT_NEAR(s.chosen_rewards[0].item<double>(), 0.25, 1e-6);
  EXPECT_NEAR(s.rejected_rewards[0].item<double>(), -0.25, 1e-6);
  DpoLoss smooth = dpo_loss(pc, pr, rc, rr, beta, DpoLossType::kSigmoid, 0.1);
  EXPECT_NEAR(smooth.losses[0].item<double>(),
              0.9 * std::log1p(std::exp(-0.5)) + 0.1 * std::log1p(std::exp(0.5)), 1e-6);
  DpoLoss ipo = dpo_loss(pc, pr, rc, rr, beta, DpoLossType::kIpo, 0.0);
  EXPECT_NEAR(ipo.losses[0].item<double>(), 0.0, 1e-6);  // (1 - 1 / (2 * 0.5))^2
  EXPECT_NEAR(ipo.losses[1].item<double>(), 2.25, 1e-6);
  // Equal policy and reference: log 2 whatever the log-probs.
  DpoLoss start = dpo_loss(pc, pr, pc, pr, 0.1, DpoLossType::kSigmoid, 0.0);
  EXPECT_NEAR(start.losses[1].item<double>(), std::log(2.0), 1e-7);
}

TEST_F(LossesTest, LossOnAFixedBatchDecreases) {
  Transformer model = load_small(dir_ / "m");
  std::vector<SequenceExample> examples(2);
  for (int b = 0; b < 2; ++b) {
    for (int t = 0; t < 6; ++t) {
      examples[b].ids.push_back(static_cast<TokenId>(ids_[b][t].item<std::int64_t>()));
      examples[b].targets.push_back(targets_[b][t].item<bool>() ? 1 : 0);
    }
  }
  LmObjective objective(examples);
  std::vector<std::pair<std::string, torch::Tensor>> params;
  for (const auto& item : model->named_parameters()) params.emplace_back(item.key(), item.value());
  AdamW optimizer(params, AdamWOptions{});
  std::vector<double> losses;
  for (int step = 0; step < 20; ++step) {
    losses.push_back(objective.run(*model, {0, 1}, objective.normaliser({0, 1}))[0]);
    optimizer.step(3e-3);
    optimizer.zero_grad();
  }
  std::printf("fixed batch: loss %.4f -> %.4f\n", losses.front(), losses.back());
  EXPECT_LT(losses.back(), 0.5 * losses.front());
  for (std::size_t i = 1; i < 5; ++i) EXPECT_LT(losses[i], losses[i - 1]);
}

TEST_F(LossesTest, GradientCheckpointingGivesTheSameGradients) {
  auto grads = [&](bool checkpointing) {
    Transformer model = load_small(dir_ / "m");
    set_gradient_checkpointing(*model, checkpointing);
    lm_loss_sum(*model, ids_, targets_).first.backward();
    std::vector<torch::Tensor> out;
    for (const auto& p : model->parameters()) out.push_back(p.grad().clone());
    return out;
  };
  std::vector<torch::Tensor> plain = grads(false), checkpointed = grads(true);
  double diff = 0;
  for (std::size_t i = 0; i < plain.size(); ++i)
    diff = std::max(diff, (plain[i] - checkpointed[i]).abs().max().item<double>());
  std::printf("gradient checkpointing vs plain: max grad diff %.3g\n", diff);
  EXPECT_LT(diff, 1e-6);
}

TEST(AdamW, MatchesTorchAdamWAndSkipsDecayOnVectors) {
  torch::manual_seed(0);
  torch::Tensor w = torch::randn({3, 4}).requires_grad_(true),
                b = torch::randn({4}).requires_grad_(true);
  torch::Tensor w2 = w.detach().clone().requires_grad_(true),
                b2 = b.detach().clone().requires_grad_(true);
  AdamW ours({{"w", w}, {"b", b}}, AdamWOptions{.weight_decay = 0.1});
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{w2},
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(0.01).weight_decay(0.1)));
  groups.emplace_back(std::vector<torch::Tensor>{b2},
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(0.01).weight_decay(0.0)));
  torch::optim::AdamW reference(std::move(groups), torch::optim::AdamWOptions(0.01));
  for (int step = 0; step < 5; ++step) {
    torch::Tensor x = torch::randn({2, 3});
    ((torch::matmul(x, w) + b).pow(2).sum()).backward();
    ((torch::matmul(x, w2) + b2).pow(2).sum()).backward();
    ours.step(0.01);
    ours.zero_grad();
    reference.step();
    reference.zero_grad();
  }
  const double diff =
      std::max((w - w2).abs().max().item<double>(), (b - b2).abs().max().item<double>());
  std::printf("AdamW vs torch::optim::AdamW after 5 steps: max diff %.3g\n", diff);
  EXPECT_LT(diff, 1e-6);
  EXPECT_EQ(ours.n_steps(), 5);
}

TEST(ClipGradNorm, ScalesToTheMaximum) {
  torch::Tensor a = torch::zeros({2}).requires_grad_(true);
  a.mutable_grad() = torch::tensor({3.0f, 4.0f});
  EXPECT_DOUBLE_EQ(clip_grad_norm({a}, 1.0), 5.0);
  EXPECT_NEAR(a.grad().norm().item<double>(), 1.0, 1e-5);
  EXPECT_NEAR(clip_grad_norm({a}, 0.0), 1.0, 1e-5);
}

}  // namespace
}  // namespace enclave::train
