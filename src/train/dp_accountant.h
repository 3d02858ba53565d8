// The privacy accountant of DP-SGD: Rényi differential privacy (RDP) of the
// sampled Gaussian mechanism, composed over training steps and converted
// to an (epsilon, delta) guarantee.
//
// One DP-SGD step releases sum_i clip(g_i) + N(0, sigma^2 C^2) over a
// Poisson sample (each example in with probability q). Its RDP at order
// alpha is log(A_alpha) / (alpha - 1) (Mironov, Talwar, Zhang 2019,
// "Rényi Differential Privacy of the Sampled Gaussian Mechanism", Sec. 3.3):
//   integer alpha:    A_alpha = sum_{k=0..alpha} C(alpha,k) (1-q)^(alpha-k) q^k
//                                 exp((k^2 - k) / (2 sigma^2))
//   fractional alpha: A_alpha = A_0 + A_1, two series over k >= 0 with
//                     erfc terms around z0 = sigma^2 log(1/q - 1) + 1/2,
//                     summed until their terms fall below e^-30.
// RDP adds up over steps (composition); the guarantee after T steps is the
// best over a fixed list of orders of the conversion of Canonne, Kamath,
// Steinke 2020 ("The Discrete Gaussian for Differential Privacy", Prop. 12;
// also Balle et al. 2020, "Hypothesis Testing Interpretations and Renyi
// Differential Privacy"), the one Google's dp_accounting and Opacus use:
//   eps = T rdp(alpha) + log((alpha-1)/alpha) - (log delta + log alpha) / (alpha-1)
// which is never worse than Mironov's original eps = rdp + log(1/delta)/(alpha-1).
// Neighbouring data sets differ by adding or removing one example.
//
// Torch-free. Thread safety: plain functions and an immutable class.
#pragma once

#include <cstdint>
#include <vector>

namespace enclave::train {

// The orders the accountant minimises over: 1.25, 1.5, 1.75, 2, 2.25, 2.5,
// 3, 3.5, 4, 4.5, every integer 5..64, then 80, 96, 128, 160, 192, 256.
const std::vector<double>& default_rdp_orders();

// RDP at `order` (> 1) of one step of the sampled Gaussian mechanism with
// sampling rate q in [0, 1] and noise multiplier sigma > 0. Throws
// Error(kInvalidInput) for arguments outside those ranges.
double sampled_gaussian_rdp(double q, double sigma, double order);

struct PrivacySpent {
  double epsilon = 0;  // +inf when no order gives a finite bound
  double order = 0;    // the order that gave it
};

// The smallest epsilon over `orders` for RDP values `rdp` (one per order,
// already composed) at delta in (0, 1), by the conversion above.
PrivacySpent epsilon_from_rdp(const std::vector<double>& orders, const std::vector<double>& rdp,
                              double delta);

// The accountant of one DP-SGD run: fixed q and sigma, any number of steps.
class RdpAccountant {
 public:
  RdpAccountant(double q, double sigma, std::vector<double> orders = default_rdp_orders());
  // The guarantee after `steps` steps (0 steps: epsilon 0).
  PrivacySpent spent(std::int64_t steps, double delta) const;
  double q() const { return q_; }
  double sigma() const { return sigma_; }

 private:
  double q_;
  double sigma_;
  std::vector<double> orders_;
  std::vector<double> rdp_per_step_;
};

// The smallest noise multiplier sigma (to a relative 1e-6, rounded up so
// the bound holds) for which `steps` steps at sampling rate q spend at
// most target_epsilon at delta. Throws Error(kInvalidInput) for a target
// that needs sigma above 1e4 (no useful training would survive that noise).
double noise_multiplier_for(double target_epsilon, double delta, double q, std::int64_t steps,
                            const std::vector<double>& orders = default_rdp_orders());

}  // namespace enclave::train
