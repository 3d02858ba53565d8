// The merge kernels against small tensors computed by hand.
#include "merge/methods.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "core/error.h"
#include "merge/sparsify.h"

namespace enclave::merge {
namespace {

using Vec = std::vector<float>;

double max_diff(const Vec& a, const Vec& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
    d = std::max(d, std::fabs(double(a[i]) - b[i]));
  return d;
}

// llm.c style: print the largest difference, then check it.
void expect_close(const Vec& got, const Vec& want, double tolerance, const char* what) {
  const double d = max_diff(got, want);
  std::printf("%s: max diff %.3g\n", what, d);
  EXPECT_LE(d, tolerance) << what;
}

Vec random_vec(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  Vec v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

TEST(Linear, ModelWithItselfIsTheIdentity) {
  const Vec x = random_vec(4096, 1);
  Vec out(x.size());
  linear_merge({x, x, x}, {0.3, 0.7, 1.9}, /*normalize=*/true, out, "t");
  expect_close(out, x, 0.0, "linear(x, x, x)");
}

TEST(Linear, WeightedAverageByHand) {
  const Vec a = {1, 2, 3}, b = {3, 6, -3};
  Vec out(3);
  linear_merge({a, b}, {1.0, 3.0}, true, out, "t");
  expect_close(out, {2.5f, 5.0f, -1.5f}, 0.0, "linear normalised");
  linear_merge({a, b}, {1.0, 3.0}, false, out, "t");
  expect_close(out, {10.0f, 20.0f, -6.0f}, 0.0, "linear unnormalised");
  EXPECT_THROW(linear_merge({a, b}, {1.0, -1.0}, true, out, "t"), Error);
}

TEST(Slerp, EndpointsAreExact) {
  const Vec v0 = random_vec(1000, 2), v1 = random_vec(1000, 3);
  Vec out(v0.size());
  slerp(0.0, v0, v1, out);
  expect_close(out, v0, 0.0, "slerp t=0");
  slerp(1.0, v0, v1, out);
  expect_close(out, v1, 0.0, "slerp t=1");
  // Colinear tensors take the linear path, whose endpoints are exact too.
  Vec twice(v0.size());
  for (std::size_t i = 0; i < v0.size(); ++i) twice[i] = 2 * v0[i];
  slerp(0.0, v0, twice, out);
  expect_close(out, v0, 0.0, "slerp colinear t=0");
  slerp(1.0, v0, twice, out);
  expect_close(out, twice, 0.0, "slerp colinear t=1");
}

TEST(Slerp, MidpointOfOrthogonalVectors) {
  Vec out(2);
  slerp(0.5, Vec{1, 0}, Vec{0, 1}, out);
  const float h = static_cast<float>(std::sqrt(0.5));
  expect_close(out, {h, h}, 1e-7, "slerp orthogonal t=0.5");
  // Unnormalised inputs: the angle is the same, the result mixes magnitudes.
  slerp(0.5, Vec{2, 0}, Vec{0, 4}, out);
  expect_close(out, {2 * h, 4 * h}, 1e-6, "slerp scaled t=0.5");
  // Nearly colinear: linear interpolation.
  slerp(0.25, Vec{1, 0}, Vec{3, 0}, out);
  expect_close(out, {1.5f, 0.0f}, 0.0, "slerp colinear t=0.25");
}

TEST(Trim, KeepsTheLargestMagnitudes) {
  Vec d = {1.0f, -2.0f, 0.5f, 0.1f, 3.0f};
  trim_by_magnitude(d, 0.6);  // k = 3
  expect_close(d, {1.0f, -2.0f, 0.0f, 0.0f, 3.0f}, 0.0, "trim 0.6");
  Vec ties = {1.0f, -1.0f, 1.0f, 0.5f};
  trim_by_magnitude(ties, 0.5);  // k = 2: equal magnitudes, lowest index first
  expect_close(ties, {1.0f, -1.0f, 0.0f, 0.0f}, 0.0, "trim ties");
  Vec all = {1, 2};
  trim_by_magnitude(all, 1.0);
  expect_close(all, {1, 2}, 0.0, "trim 1.0");
  trim_by_magnitude(all, 0.4);  // k = 0
  expect_close(all, {0, 0}, 0.0, "trim to nothing");
}

TEST(Ties, HandComputedExample) {
  // base + deltas; deltas A = [1, -2, 0.5, 0.1, 3], B = [-1.5, 1, 0.4, -0.2, 1].
  const Vec base = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
  const Vec a = {1.5f, -1.5f, 1.0f, 0.6f, 3.5f};
  const Vec b = {-1.0f, 1.5f, 0.9f, 0.3f, 1.5f};
  // Trim at density 0.6 (k = 3): A -> [1, -2, 0, 0, 3], B -> [-1.5, 1, 0, 0, 1].
  // Sum of weighted deltas [-0.5, -1, 0, 0, 4] elects [-, -, +, +, +].
  // Agreeing: [B, A, none, none, A+B]; disjoint mean: [-1.5, -2, 0, 0, 2].
  Vec out(5);
  task_arithmetic_merge(
      base, {{.model = a, .density = 0.6}, {.model = b, .density = 0.6}},
      {.sparsification = Sparsification::kMagnitude, .sign_consensus = true, .normalize = true},
      out);
  expect_close(out, {-1.0f, -1.5f, 0.5f, 0.5f, 2.5f}, 1e-7, "ties normalised");
  // Without normalising the agreeing deltas add up.
  task_arithmetic_merge(
      base, {{.model = a, .density = 0.6}, {.model = b, .density = 0.6}},
      {.sparsification = Sparsification::kMagnitude, .sign_consensus = true, .normalize = false},
      out);
  expect_close(out, {-1.0f, -1.5f, 0.5f, 0.5f, 4.5f}, 1e-7, "ties unnormalised");
  // Weights scale the deltas before the election.
  task_arithmetic_merge(
      base,
      {{.model = a, .weight = 3.0, .density = 0.6}, {.model = b, .weight = 1.0, .density = 0.6}},
      {.sparsification = Sparsification::kMagnitude, .sign_consensus = true, .normalize = true},
      out);
  // wd A = [3, -6, 0, 0, 9], wd B = [-1.5, 1, 0, 0, 1]; sums [1.5, -5, 0, 0, 10] elect [+, -, +, +,
  // +]. Index 0: A agrees -> 3 / 3 = 1; index 1: A -> -6 / 3 = -2; index 4: (9 + 1) / 4 = 2.5.
  expect_close(out, {1.5f, -1.5f, 0.5f, 0.5f, 3.0f}, 1e-7, "ties weighted");
}

TEST(TaskArithmetic, HandComputed) {
  const Vec base = {1, 1, 1};
  const Vec a = {2, 0, 1}, b = {1, 3, 1};
  Vec out(3);
  // base + 1.0 * ((a - base) * 0.5 + (b - base) * 2) = base + [0.5, 3.5, 0].
  task_arithmetic_merge(base, {{.model = a, .weight = 0.5}, {.model = b, .weight = 2.0}}, {}, out);
  expect_close(out, {1.5f, 4.5f, 1.0f}, 0.0, "task arithmetic");
  task_arithmetic_merge(base, {{.model = a, .weight = 0.5}, {.model = b, .weight = 2.0}},
                        {.lambda = 0.5}, out);
  expect_close(out, {1.25f, 2.75f, 1.0f}, 0.0, "task arithmetic lambda 0.5");
  task_arithmetic_merge(base, {{.model = a, .weight = 0.5}, {.model = b, .weight = 2.0}},
                        {.normalize = true}, out);
  expect_close(out, {1.2f, 2.4f, 1.0f}, 1e-7, "task arithmetic normalised");
}

// The mask DARE must draw, recomputed here from its definition.
std::vector<bool> expected_mask(std::size_t n, double density, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<bool> keep(n);
  for (std::size_t i = 0; i < n; ++i)
    keep[i] = static_cast<double>(rng() >> 11) / 9007199254740992.0 < density;
  return keep;
}

TEST(Dare, DropsAndRescalesAsDefined) {
  const Vec delta = random_vec(2000, 4);
  Vec dropped = delta;
  drop_random(dropped, 0.3, 1234, /*rescale=*/true);
  const std::vector<bool> keep = expected_mask(delta.size(), 0.3, 1234);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < delta.size(); ++i) {
    const float want = keep[i] ? static_cast<float>(delta[i] / 0.3) : 0.0f;
    ASSERT_EQ(dropped[i], want) << i;
    kept += keep[i];
  }
  // About density of the entries survive.
  EXPECT_NEAR(static_cast<double>(kept) / delta.size(), 0.3, 0.05);
}

TEST(Dare, SameSeedSameResultOtherSeedOtherMask) {
  const Vec delta = random_vec(1000, 5);
  Vec a = delta, b = delta, c = delta;
  drop_random(a, 0.5, 99, true);
  drop_random(b, 0.5, 99, true);
  drop_random(c, 0.5, 100, true);
  expect_close(a, b, 0.0, "dare same seed");
  EXPECT_GT(max_diff(a, c), 0.0);
  Vec none = delta;
  drop_random(none, 0.0, 1, true);
  expect_close(none, Vec(delta.size(), 0.0f), 0.0, "dare density 0");
  Vec all = delta;
  drop_random(all, 1.0, 1, true);
  expect_close(all, delta, 0.0, "dare density 1");
  // Per-tensor seeds differ by name and by model.
  EXPECT_NE(tensor_seed(1, "a.weight", 0), tensor_seed(1, "b.weight", 0));
  EXPECT_NE(tensor_seed(1, "a.weight", 0), tensor_seed(1, "a.weight", 1));
  EXPECT_NE(tensor_seed(1, "a.weight", 0), tensor_seed(2, "a.weight", 0));
  EXPECT_EQ(tensor_seed(1, "a.weight", 0), tensor_seed(1, "a.weight", 0));
}

TEST(Dare, TiesAndLinearMergesByHand) {
  const Vec base = {0, 0, 0, 0, 0, 0, 0, 0};
  const Vec a = {1, -1, 2, -2, 1, 1, -1, 3};
  const Vec b = {-2, 1, 1, 1, -1, 2, -3, 1};
  const std::uint64_t seed_a = 11, seed_b = 12;
  const auto keep_a = expected_mask(8, 0.5, seed_a), keep_b = expected_mask(8, 0.5, seed_b);
  // Hand-computed from the masks: rescaled deltas da = a * keep / 0.5, db likewise.
  Vec linear(8), ties(8);
  for (std::size_t i = 0; i < 8; ++i) {
    const double da = keep_a[i] ? a[i] / 0.5 : 0.0, db = keep_b[i] ? b[i] / 0.5 : 0.0;
    linear[i] = static_cast<float>(da + db);
    const double elected = da + db >= 0 ? 1 : -1;
    double sum = 0;
    for (double d : {da, db}) {
      if (d != 0 && (d > 0) == (elected > 0)) sum += d;
    }
    ties[i] = static_cast<float>(sum);
  }
  const std::vector<TaskVectorInput> inputs = {{.model = a, .density = 0.5, .seed = seed_a},
                                               {.model = b, .density = 0.5, .seed = seed_b}};
  Vec out(8);
  task_arithmetic_merge(base, inputs, {.sparsification = Sparsification::kRandom}, out);
  expect_close(out, linear, 0.0, "dare_linear");
  task_arithmetic_merge(base, inputs,
                        {.sparsification = Sparsification::kRandom, .sign_consensus = true}, out);
  expect_close(out, ties, 0.0, "dare_ties");
  Vec again(8);
  task_arithmetic_merge(base, inputs,
                        {.sparsification = Sparsification::kRandom, .sign_consensus = true}, again);
  expect_close(again, out, 0.0, "dare_ties reproducible");
}

}  // namespace
}  // namespace enclave::merge
