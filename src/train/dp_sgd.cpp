#include "train/dp_sgd.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "core/error.h"

namespace enclave::train {

std::uint64_t dp_entropy_seed() {
  std::random_device device;
  const std::uint64_t high = device(), low = device();
  return ((high << 32) ^ low) & ((std::uint64_t{1} << 52) - 1);
}

DpSgd::DpSgd(std::vector<torch::Tensor> params, DpSgdOptions options, std::uint64_t seed)
    : params_(std::move(params)),
      options_(options),
      sampler_(seed),
      noise_(at::detail::createCPUGenerator(seed ^ 0x5DEECE66Dull)) {
  ENCLAVE_CHECK(options_.max_grad_norm > 0 && options_.expected_batch_size > 0 &&
                options_.noise_multiplier >= 0);
  for (const torch::Tensor& p : params_)
    sums_.push_back(torch::zeros(p.sizes(), p.options().dtype(torch::kFloat32)));
}

std::vector<std::size_t> DpSgd::sample(std::size_t n, double q) {
  std::vector<std::size_t> batch;
  for (std::size_t i = 0; i < n; ++i) {
    // A uniform double in [0, 1) from the top 53 bits: the same on every process.
    const double u = static_cast<double>(sampler_() >> 11) * 0x1.0p-53;
    if (u < q) batch.push_back(i);
  }
  return batch;
}

double DpSgd::add_example() {
  std::vector<torch::Tensor> squares;
  for (const torch::Tensor& p : params_) {
    if (p.grad().defined()) squares.push_back(p.grad().to(torch::kFloat32).square().sum());
  }
  if (squares.empty()) return 0;
  const double norm = std::sqrt(torch::stack(squares).sum().item<double>());
  const double c = options_.max_grad_norm;
  const double scale = norm > c ? c / norm : 1.0;  // the clipped gradient has norm min(norm, C)
  for (std::size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor& grad = params_[i].mutable_grad();
    if (!grad.defined()) continue;
    sums_[i].add_(grad.to(torch::kFloat32), scale);
    grad.zero_();
  }
  return norm;
}

double DpSgd::finish_step() {
  const double stddev = options_.noise_multiplier * options_.max_grad_norm;
  double square_sum = 0;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor g = sums_[i];
    if (stddev > 0) {
      // Drawn on the CPU generator, so every process and device gets the same noise.
      torch::Tensor noise = torch::randn(g.sizes(), noise_, torch::TensorOptions(torch::kFloat32));
      g = g + noise.to(g.device()) * stddev;
    }
    g = g / options_.expected_batch_size;
    square_sum += g.square().sum().item<double>();
    torch::Tensor& grad = params_[i].mutable_grad();
    if (grad.defined()) {
      grad.copy_(g);
    } else {
      grad = g.to(params_[i].scalar_type());
    }
    sums_[i].zero_();
  }
  return std::sqrt(square_sum);
}

PrivateBatch add_examples(DpSgd& dp, Objective& objective, TransformerImpl& model,
                          const std::vector<std::size_t>& examples, double normaliser) {
  PrivateBatch out;
  out.sums.assign(objective.sum_names().size(), 0.0);
  for (std::size_t i : examples) {
    const double own = objective.normaliser({i});
    const std::vector<double> s = objective.run(model, {i}, own);
    if (dp.add_example() > dp.options().max_grad_norm) ++out.n_clipped;
    out.sums[0] += s[0] * own / normaliser;
    for (std::size_t k = 1; k < s.size(); ++k) out.sums[k] += s[k];
  }
  return out;
}

}  // namespace enclave::train
