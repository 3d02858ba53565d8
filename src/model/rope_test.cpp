#include "model/rope.h"

#include <gtest/gtest.h>

#include <cmath>

namespace enclave {
namespace {

ModelConfig rope_config() {
  ModelConfig c;
  c.head_dim = 8;
  c.rope_theta = 10000.0;
  return c;
}

TEST(RopeTest, DefaultInvFreq) {
  torch::Tensor inv = rope_inv_freq(rope_config());
  ASSERT_EQ(inv.numel(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_FLOAT_EQ(inv[i].item<float>(),
                    static_cast<float>(1.0 / std::pow(10000.0, 2.0 * i / 8.0)))
        << i;
  }
}

TEST(RopeTest, LinearScalingDividesByFactor) {
  ModelConfig c = rope_config();
  c.rope_scaling = {.type = RopeScalingType::kLinear, .factor = 4.0};
  torch::Tensor inv = rope_inv_freq(c);
  for (int i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ(inv[i].item<float>(), static_cast<float>(std::pow(10000.0, -i / 4.0) / 4.0));
}

TEST(RopeTest, Llama3ScalingByHand) {
  // theta 10000, head_dim 8: inv_freq = 1, 0.1, 0.01, 0.001; wavelengths
  // 2pi/inv_freq = 6.28, 62.8, 628, 6283. With original context 64,
  // low_freq_factor 1, high_freq_factor 4: low wavelength 64, high 16, so
  // index 0 is high frequency (kept), 1 is medium (interpolated), 2 and 3
  // are low frequency (divided by the factor 8).
  ModelConfig c = rope_config();
  c.rope_scaling = {.type = RopeScalingType::kLlama3,
                    .factor = 8.0,
                    .low_freq_factor = 1.0,
                    .high_freq_factor = 4.0,
                    .original_max_position_embeddings = 64};
  torch::Tensor inv = rope_inv_freq(c);
  const double s = (64.0 / (2 * M_PI / 0.1) - 1.0) / (4.0 - 1.0);
  const double expected[4] = {1.0, (1 - s) * 0.1 / 8.0 + s * 0.1, 0.01 / 8.0, 0.001 / 8.0};
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(inv[i].item<float>() / expected[i], 1.0, 1e-6) << "index " << i;
  }
}

TEST(RopeTest, CosSinAndRotation) {
  torch::Tensor inv = rope_inv_freq(rope_config());
  torch::Tensor pos = torch::tensor({0, 3}, torch::kInt64).view({1, 2});
  auto [cos, sin] = rope_cos_sin(inv, pos, torch::kFloat32);
  ASSERT_EQ(cos.sizes(), (c10::IntArrayRef{1, 1, 2, 8}));
  // Position 3, frequency index 1 (and its copy at 5): angle 0.3.
  EXPECT_NEAR(cos[0][0][1][1].item<float>(), std::cos(0.3), 1e-6);
  EXPECT_NEAR(sin[0][0][1][5].item<float>(), std::sin(0.3), 1e-6);

  torch::Tensor x = torch::randn({1, 2, 2, 8});
  torch::Tensor y = apply_rope(x, cos, sin);
  // Position 0 is the identity; rotation keeps the norm.
  EXPECT_TRUE(torch::allclose(y.select(2, 0), x.select(2, 0)));
  EXPECT_TRUE(torch::allclose(y.norm(2, -1), x.norm(2, -1), 1e-5, 1e-5));
  // Pair (j, j + 4) rotates by the angle: y_j = x_j cos - x_{j+4} sin.
  const float a = std::cos(0.3f), b = std::sin(0.3f);
  EXPECT_NEAR(y[0][1][1][1].item<float>(),
              x[0][1][1][1].item<float>() * a - x[0][1][1][5].item<float>() * b, 1e-5);
  EXPECT_NEAR(y[0][1][1][5].item<float>(),
              x[0][1][1][5].item<float>() * a + x[0][1][1][1].item<float>() * b, 1e-5);
}

}  // namespace
}  // namespace enclave
