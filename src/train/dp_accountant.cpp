#include "train/dp_accountant.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace enclave::train {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// log(e^a + e^b)
double log_add(double a, double b) {
  if (a == -kInf) return b;
  if (b == -kInf) return a;
  const double hi = std::max(a, b);
  return hi + std::log1p(std::exp(-std::abs(a - b)));
}

// log(e^a - e^b), a >= b
double log_sub(double a, double b) {
  if (b == -kInf) return a;
  ENCLAVE_CHECK(a >= b);
  if (a == b) return -kInf;
  return a + std::log1p(-std::exp(b - a));
}

// log(erfc(x)) without underflow: past x = 25 erfc is below 1e-273, and
// the asymptotic series erfc(x) ~ exp(-x^2 - 1/(2x^2) + 5/(8x^4) - ...) / (x
// sqrt(pi)) is exact to double precision there.
double log_erfc(double x) {
  if (x < 25) return std::log(std::erfc(x));
  const double r = 1.0 / (x * x);
  return -0.5 * std::log(M_PI) - std::log(x) - x * x - 0.5 * r + 0.625 * r * r -
         37.0 / 24.0 * r * r * r + 353.0 / 64.0 * r * r * r * r;
}

// log A_alpha for integer alpha: the binomial expansion of
// E_{z ~ mu0}[((1-q) + q mu1(z)/mu0(z))^alpha] (Mironov et al. 2019, Sec. 3.3).
double log_a_integer(double q, double sigma, double alpha) {
  const auto n = static_cast<std::int64_t>(alpha);
  double log_a = -kInf;
  for (std::int64_t k = 0; k <= n; ++k) {
    const auto kd = static_cast<double>(k);
    const double log_binom =
        std::lgamma(alpha + 1) - std::lgamma(kd + 1) - std::lgamma(alpha - kd + 1);
    const double term = log_binom + kd * std::log(q) + (alpha - kd) * std::log1p(-q) +
                        (kd * kd - kd) / (2 * sigma * sigma);
    log_a = log_add(log_a, term);
  }
  return log_a;
}

// log A_alpha for fractional alpha: the integral split at z0, where mu0 and
// the mixture cross, each half expanded as a series with a generalised
// binomial coefficient (Mironov et al. 2019, Sec. 3.3).
double log_a_fractional(double q, double sigma, double alpha) {
  double log_a0 = -kInf, log_a1 = -kInf;
  const double z0 = sigma * sigma * std::log(1 / q - 1) + 0.5;
  double log_coef = 0;  // log |C(alpha, k)|
  bool coef_positive = true;
  for (std::int64_t k = 0;; ++k) {
    ENCLAVE_CHECK(k < 100'000'000);
    const auto i = static_cast<double>(k);
    const double j = alpha - i;
    const double log_t0 = log_coef + i * std::log(q) + j * std::log1p(-q);
    const double log_t1 = log_coef + j * std::log(q) + i * std::log1p(-q);
    const double log_e0 = std::log(0.5) + log_erfc((i - z0) / (std::sqrt(2.0) * sigma));
    const double log_e1 = std::log(0.5) + log_erfc((z0 - j) / (std::sqrt(2.0) * sigma));
    const double log_s0 = log_t0 + (i * i - i) / (2 * sigma * sigma) + log_e0;
    const double log_s1 = log_t1 + (j * j - j) / (2 * sigma * sigma) + log_e1;
    if (coef_positive) {
      log_a0 = log_add(log_a0, log_s0);
      log_a1 = log_add(log_a1, log_s1);
    } else {
      log_a0 = log_sub(log_a0, log_s0);
      log_a1 = log_sub(log_a1, log_s1);
    }
    if (std::max(log_s0, log_s1) < -30) break;
    // C(alpha, k + 1) = C(alpha, k) (alpha - k) / (k + 1)
    log_coef += std::log(std::abs(alpha - i)) - std::log(i + 1);
    if (alpha - i < 0) coef_positive = !coef_positive;
  }
  return log_add(log_a0, log_a1);
}

}  // namespace

const std::vector<double>& default_rdp_orders() {
  static const std::vector<double> orders = [] {
    std::vector<double> out = {1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5};
    for (int a = 5; a <= 64; ++a) out.push_back(a);
    for (double a : {80, 96, 128, 160, 192, 256}) out.push_back(a);
    return out;
  }();
  return orders;
}

double sampled_gaussian_rdp(double q, double sigma, double order) {
  if (!(q >= 0 && q <= 1)) fail_input("DP accountant: sampling rate {} is outside [0, 1]", q);
  if (!(sigma > 0) || !std::isfinite(sigma))
    fail_input("DP accountant: noise multiplier {} must be positive", sigma);
  if (!(order > 1)) fail_input("DP accountant: Renyi order {} must be above 1", order);
  if (q == 0) return 0;
  if (q == 1) return order / (2 * sigma * sigma);  // the Gaussian mechanism itself
  if (std::isinf(order)) return kInf;
  const double log_a = order == std::floor(order) ? log_a_integer(q, sigma, order)
                                                  : log_a_fractional(q, sigma, order);
  return log_a / (order - 1);
}

PrivacySpent epsilon_from_rdp(const std::vector<double>& orders, const std::vector<double>& rdp,
                              double delta) {
  ENCLAVE_CHECK(orders.size() == rdp.size() && !orders.empty());
  ENCLAVE_CHECK(delta > 0 && delta < 1);
  PrivacySpent best{kInf, orders.front()};
  for (std::size_t i = 0; i < orders.size(); ++i) {
    const double a = orders[i], r = rdp[i];
    double eps = kInf;
    if (delta * delta + std::expm1(-r) >= 0) {
      eps = 0;              // rdp so small that the pure-DP bound gives 0
    } else if (a > 1.01) {  // the bound is unstable as alpha -> 1, and useless there
      eps = r + std::log1p(-1 / a) - std::log(delta * a) / (a - 1);
    }
    if (eps < best.epsilon) best = {eps, a};
  }
  best.epsilon = std::max(0.0, best.epsilon);
  return best;
}

RdpAccountant::RdpAccountant(double q, double sigma, std::vector<double> orders)
    : q_(q), sigma_(sigma), orders_(std::move(orders)) {
  for (double a : orders_) rdp_per_step_.push_back(sampled_gaussian_rdp(q_, sigma_, a));
}

PrivacySpent RdpAccountant::spent(std::int64_t steps, double delta) const {
  if (steps <= 0) return {0, orders_.front()};
  std::vector<double> rdp = rdp_per_step_;
  for (double& r : rdp) r *= static_cast<double>(steps);
  return epsilon_from_rdp(orders_, rdp, delta);
}

double noise_multiplier_for(double target_epsilon, double delta, double q, std::int64_t steps,
                            const std::vector<double>& orders) {
  ENCLAVE_CHECK(target_epsilon > 0 && steps > 0);
  auto epsilon = [&](double sigma) {
    return RdpAccountant(q, sigma, orders).spent(steps, delta).epsilon;
  };
  constexpr double kMaxSigma = 1e4;
  double lo = 0, hi = 1;
  while (epsilon(hi) > target_epsilon) {
    lo = hi;
    hi *= 2;
    if (hi > kMaxSigma) {
      fail_input(
          "dp_epsilon: {} at dp_delta {} over {} steps at sampling rate {:.4g} needs a noise "
          "multiplier above {:g}; raise dp_epsilon, batch_size or the data, or train fewer steps",
          target_epsilon, delta, steps, q, kMaxSigma);
    }
  }
  if (lo == 0) {  // sigma 1 is enough: look below it
    lo = hi / 2;
    while (lo > 1e-3 && epsilon(lo) <= target_epsilon) {
      hi = lo;
      lo /= 2;
    }
  }
  // epsilon(lo) > target >= epsilon(hi); epsilon falls as sigma grows.
  while ((hi - lo) > 1e-6 * hi) {
    const double mid = 0.5 * (lo + hi);
    (epsilon(mid) > target_epsilon ? lo : hi) = mid;
  }
  return hi;
}

}  // namespace enclave::train
