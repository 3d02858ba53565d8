#include "train/dp_accountant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace enclave::train {
namespace {

// Published values: TensorFlow Privacy's rdp_accountant_test.py
// (compute_rdp(0.01, 2.5, 50 steps, orders) to within 1e-5, and
// compute_rdp(0.1, 2, 10 steps, order 5) = 0.07737). Google's newer
// dp_accounting sums the absolute values of the fractional series' terms,
// an upper bound a few percent above these at orders 1.5 and 2.5.
TEST(DpAccountant, SampledGaussianRdpMatchesPublishedValues) {
  const double orders[] = {1.5, 2.5, 5, 50, 100};
  const double expected[] = {0.00065, 0.001085, 0.00218075, 0.023846, 167.416307};
  for (std::size_t i = 0; i < 5; ++i)
    EXPECT_NEAR(50 * sampled_gaussian_rdp(0.01, 2.5, orders[i]), expected[i], 1e-5) << orders[i];
  EXPECT_NEAR(10 * sampled_gaussian_rdp(0.1, 2, 5), 0.07737, 5e-6);
}

// A_alpha = E_{z ~ N(0, sigma^2)}[((1 - q) + q exp((2z - 1) / (2 sigma^2)))^alpha]
// integrated numerically with mpmath at 50 digits (mpmath.quad over
// breakpoints every 0.25 on [-20, 50]): an independent check of both the
// integer closed form and the fractional series.
TEST(DpAccountant, SampledGaussianRdpMatchesNumericalIntegration) {
  struct Case {
    double q, sigma, order, rdp;
  };
  const Case cases[] = {
      {0.01, 2.5, 1.5, 1.30014179437608e-5}, {0.01, 2.5, 2.5, 2.17083611383625e-5},
      {0.01, 2.5, 5, 4.36151312461576e-5},   {0.01, 2.5, 50, 0.000476920750774123},
      {0.1, 0.8, 1.25, 0.0180386707267055},  {0.1, 0.8, 3.5, 0.170625065537773},
      {0.1, 0.8, 16, 10.0439092347757},      {0.5, 0.5, 1.75, 2.06222187080898},
      {0.5, 0.5, 7, 13.1913282893908},       {0.01, 1.1, 4.5, 0.000303039349413455}};
  double worst = 0;
  for (const Case& c : cases) {
    const double rdp = sampled_gaussian_rdp(c.q, c.sigma, c.order);
    worst = std::max(worst, std::abs(rdp - c.rdp) / c.rdp);
    EXPECT_NEAR(rdp, c.rdp, 1e-8 * c.rdp) << c.q << " " << c.sigma << " " << c.order;
  }
  std::printf("sampled Gaussian RDP vs numerical integration: max relative diff %.3g\n", worst);
}

TEST(DpAccountant, EdgeRatesAreTheGaussianAndNothing) {
  EXPECT_DOUBLE_EQ(sampled_gaussian_rdp(1.0, 2.0, 3.5), 3.5 / 8);
  EXPECT_EQ(sampled_gaussian_rdp(0.0, 2.0, 3.5), 0);
  // Integer and fractional formulas agree where they meet.
  const double below = sampled_gaussian_rdp(0.05, 1.1, 3 - 1e-9);
  const double at = sampled_gaussian_rdp(0.05, 1.1, 3);
  EXPECT_NEAR(below, at, 1e-6 * at);
  EXPECT_THROW(sampled_gaussian_rdp(1.5, 1, 2), Error);
  EXPECT_THROW(sampled_gaussian_rdp(0.5, 0, 2), Error);
  EXPECT_THROW(sampled_gaussian_rdp(0.5, 1, 1), Error);
}

// Published: constant RDP 1.1 over orders 2..32 at delta 1e-5 is
// (1.32783806176, 1e-5)-DP at order 32 (same test file, pure DP case).
TEST(DpAccountant, ConversionMatchesPublishedValue) {
  std::vector<double> orders, rdp;
  for (int a = 2; a <= 32; ++a) {
    orders.push_back(a);
    rdp.push_back(1.1);
  }
  const PrivacySpent spent = epsilon_from_rdp(orders, rdp, 1e-5);
  EXPECT_NEAR(spent.epsilon, 1.32783806176, 1e-9);
  EXPECT_EQ(spent.order, 32);
}

// Published: the full-batch Gaussian with sigma 4.530877117 is exactly
// (1, 1e-6)-DP over the dense orders 1.000..99.999 (same test file).
TEST(DpAccountant, GaussianMechanismReachesItsExactEpsilon) {
  std::vector<double> orders;
  for (int i = 1001; i < 100000; i += 7) orders.push_back(0.001 * i);
  const RdpAccountant accountant(1.0, 4.530877117, orders);
  EXPECT_NEAR(accountant.spent(1, 1e-6).epsilon, 1.0, 2e-3);
}

TEST(DpAccountant, EpsilonGrowsWithStepsAndNoiseIsFoundByBisection) {
  const RdpAccountant accountant(0.01, 1.1, default_rdp_orders());
  EXPECT_EQ(accountant.spent(0, 1e-5).epsilon, 0);
  double previous = 0;
  for (std::int64_t steps : {1, 10, 100, 1000, 10000}) {
    const double eps = accountant.spent(steps, 1e-5).epsilon;
    EXPECT_GT(eps, previous) << steps;
    previous = eps;
  }
  std::printf("q 0.01, sigma 1.1, 10000 steps: epsilon %.4f at order %g\n",
              accountant.spent(10000, 1e-5).epsilon, accountant.spent(10000, 1e-5).order);
  for (double target : {1.0, 8.0}) {
    const double sigma = noise_multiplier_for(target, 1e-5, 0.02, 500);
    const double reached = RdpAccountant(0.02, sigma).spent(500, 1e-5).epsilon;
    const double above = RdpAccountant(0.02, sigma * (1 - 1e-4)).spent(500, 1e-5).epsilon;
    EXPECT_LE(reached, target) << target;
    EXPECT_GT(above, target) << target;  // the smallest such sigma
  }
  EXPECT_THROW(noise_multiplier_for(1e-6, 1e-10, 1.0, 1'000'000), Error);
}

}  // namespace
}  // namespace enclave::train
