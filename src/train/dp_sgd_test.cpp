#include "train/dp_sgd.h"

#include <gtest/gtest.h>

#include <cmath>

#include "model/weights.h"
#include "train/train_test_util.h"

namespace enclave::train {
namespace {

// An objective whose example i has loss w . x_i, so its gradient is x_i:
// chosen by the test, one of them huge. The model is not used.
class LinearObjective : public Objective {
 public:
  LinearObjective(torch::Tensor w, std::vector<torch::Tensor> xs) : w_(w), xs_(std::move(xs)) {}
  std::size_t size() const override { return xs_.size(); }
  std::int64_t cost(std::size_t) const override { return 1; }
  std::int64_t tokens(std::size_t) const override { return 1; }
  double normaliser(const std::vector<std::size_t>& batch) const override {
    return static_cast<double>(std::max<std::size_t>(batch.size(), 1));
  }
  std::vector<std::string> sum_names() const override { return {"loss"}; }
  std::vector<double> run(TransformerImpl&, const std::vector<std::size_t>& micro,
                          double normaliser) override {
    torch::Tensor loss = torch::zeros({});
    for (std::size_t i : micro) loss = loss + (w_ * xs_[i]).sum();
    loss = loss / normaliser;
    loss.backward();
    return {loss.item<double>()};
  }

 private:
  torch::Tensor w_;
  std::vector<torch::Tensor> xs_;
};

Transformer load_small(const std::filesystem::path& dir) {
  Transformer model(testing::small_model_config(), torch::kFloat32);
  load_weights(*model, WeightFiles(dir), LoadOptions{.device = torch::kCPU, .allow_mmap = false});
  return model;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

TEST(DpSgd, HugeExampleIsClippedToTheBound) {
  testing::ScratchDir dir;
  testing::write_small_model(dir / "m", 1);
  Transformer model = load_small(dir / "m");  // unused by the objective; add_examples wants one
  torch::Tensor w = torch::zeros({4}, torch::requires_grad());
  const torch::Tensor huge = torch::tensor({1000.0f, 0.0f, 0.0f, 0.0f});
  const torch::Tensor small_a = torch::tensor({0.0f, 0.3f, 0.0f, 0.0f});
  const torch::Tensor small_b = torch::tensor({0.0f, 0.0f, 0.4f, 0.3f});
  LinearObjective objective(w, {huge, small_a, small_b});
  // sigma 0: no noise, so the gradient is the clipped sum over q N = 3.
  DpSgd dp({w}, DpSgdOptions{.noise_multiplier = 0, .max_grad_norm = 1.0, .expected_batch_size = 3},
           7);
  const PrivateBatch b = add_examples(dp, objective, *model, {0, 1, 2}, 3);
  EXPECT_EQ(b.n_clipped, 1);
  EXPECT_NEAR(b.sums[0], 0, 1e-9);  // w = 0: every loss is 0
  dp.finish_step();
  // The huge example contributes its direction at norm C = 1, the small ones as they are.
  const torch::Tensor expected = (torch::tensor({1.0f, 0.0f, 0.0f, 0.0f}) + small_a + small_b) / 3;
  const double diff = max_abs_diff(w.grad(), expected);
  std::printf("clipped DP-SGD gradient vs hand-computed: max diff %.3g (unclipped would be %.1f)\n",
              diff, (huge + small_a + small_b).norm().item<double>() / 3);
  EXPECT_LT(diff, 1e-7);
  // The huge example alone: its whole contribution is C / (q N).
  DpSgd alone(
      {w}, DpSgdOptions{.noise_multiplier = 0, .max_grad_norm = 0.5, .expected_batch_size = 1}, 7);
  w.mutable_grad().zero_();
  add_examples(alone, objective, *model, {0}, 1);
  EXPECT_NEAR(alone.finish_step(), 0.5, 1e-6);
}

TEST(DpSgd, PerExampleGradientsSumToTheBatchGradient) {
  // Unclipped and noiseless, the per-example loop must give the gradient of
  // the summed per-example losses that one batched backward pass gives.
  testing::ScratchDir dir;
  testing::write_small_model(dir / "m", 2);
  Transformer model = load_small(dir / "m");
  // Three sequences of different lengths with 3 target tokens each, so the
  // sum of per-example mean losses is the batch's token sum / 3.
  std::vector<SequenceExample> examples = {
      {{1, 40, 41, 42, 43, 44}, {0, 0, 0, 1, 1, 1}},
      {{1, 50, 51, 52}, {0, 1, 1, 1}},
      {{1, 60, 61, 62, 63, 64, 65, 66}, {0, 0, 1, 0, 1, 0, 1, 0}},
  };
  LmObjective objective(examples);
  std::vector<torch::Tensor> params;
  for (const auto& p : model->parameters()) params.push_back(p);
  DpSgd dp(params,
           DpSgdOptions{.noise_multiplier = 0, .max_grad_norm = 1e9, .expected_batch_size = 1}, 3);
  const PrivateBatch b = add_examples(dp, objective, *model, {0, 1, 2}, 9);
  EXPECT_EQ(b.n_clipped, 0);
  dp.finish_step();
  std::vector<torch::Tensor> per_example;
  for (const auto& p : params) per_example.push_back(p.grad().clone());
  for (const auto& p : params) p.mutable_grad().zero_();
  const std::vector<double> batched = objective.run(*model, {0, 1, 2}, 3);
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < params.size(); ++i) {
    diff = std::max(diff, max_abs_diff(per_example[i], params[i].grad()));
    scale = std::max(scale, params[i].grad().abs().max().item<double>());
  }
  std::printf("per-example loop vs batched backward: max grad diff %.3g (largest grad %.3g)\n",
              diff, scale);
  EXPECT_LT(diff, 1e-5 * scale);
  // The loss reported for the batch is its token mean.
  EXPECT_NEAR(b.sums[0], batched[0] / 3, 1e-5);
}

TEST(DpSgd, NoiseHasStddevSigmaTimesBoundOverBatch) {
  torch::Tensor w = torch::zeros({200000}, torch::requires_grad());
  DpSgd dp({w},
           DpSgdOptions{.noise_multiplier = 2.0, .max_grad_norm = 0.5, .expected_batch_size = 4},
           11);
  dp.finish_step();  // an empty batch: noise only
  const double mean = w.grad().mean().item<double>(), stddev = w.grad().std().item<double>();
  std::printf("noise: mean %.4f stddev %.4f (expected 0, %.4f)\n", mean, stddev, 2.0 * 0.5 / 4);
  EXPECT_NEAR(stddev, 0.25, 0.25 * 0.01);
  EXPECT_NEAR(mean, 0, 0.005);
  // Same seed, same noise (data-parallel processes); another seed, other noise.
  torch::Tensor first = w.grad().clone();
  DpSgd same({w}, dp.options(), 11), other({w}, dp.options(), 12);
  same.finish_step();
  EXPECT_TRUE(torch::equal(w.grad(), first));
  other.finish_step();
  EXPECT_FALSE(torch::equal(w.grad(), first));
}

TEST(DpSgd, PoissonSamplingTakesEachExampleWithProbabilityQ) {
  torch::Tensor w = torch::zeros({1}, torch::requires_grad());
  DpSgd a({w}, DpSgdOptions{}, 5), b({w}, DpSgdOptions{}, 5);
  std::vector<std::size_t> sizes;
  for (int step = 0; step < 20; ++step) {
    const std::vector<std::size_t> batch = a.sample(1000, 0.05);
    EXPECT_EQ(batch, b.sample(1000, 0.05));  // same seed, same batches
    EXPECT_TRUE(std::is_sorted(batch.begin(), batch.end()));
    sizes.push_back(batch.size());
  }
  double total = 0;
  for (std::size_t s : sizes) total += static_cast<double>(s);
  // 20 000 draws at q 0.05: mean 1000, stddev about 31.
  EXPECT_NEAR(total, 1000, 4 * 31);
  EXPECT_NE(*std::min_element(sizes.begin(), sizes.end()),
            *std::max_element(sizes.begin(), sizes.end()));  // the batch size varies
  EXPECT_TRUE(a.sample(50, 0.0).empty());
  EXPECT_EQ(a.sample(50, 1.0).size(), 50u);
}

}  // namespace
}  // namespace enclave::train
