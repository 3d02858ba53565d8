#include "train/adamw.h"

#include <cmath>

#include "core/error.h"
#include "model/weights.h"

namespace enclave::train {

AdamW::AdamW(std::vector<std::pair<std::string, torch::Tensor>> params, AdamWOptions options)
    : options_(options) {
  torch::NoGradGuard no_grad;
  for (auto& [name, p] : params) {
    ENCLAVE_CHECK(p.requires_grad());
    Slot s{
        name, p, {}, torch::zeros_like(p, torch::kFloat32), torch::zeros_like(p, torch::kFloat32)};
    if (p.scalar_type() != torch::kFloat32) s.master = p.detach().to(torch::kFloat32).clone();
    slots_.push_back(std::move(s));
  }
}

void AdamW::zero_grad() {
  for (Slot& s : slots_) {
    if (s.param.grad().defined()) s.param.mutable_grad() = torch::Tensor();
  }
}

void AdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  ++n_steps_;
  const double t = static_cast<double>(n_steps_);
  const double bias1 = 1.0 - std::pow(options_.beta1, t);
  const double bias2_sqrt = std::sqrt(1.0 - std::pow(options_.beta2, t));
  for (Slot& s : slots_) {
    const torch::Tensor& grad = s.param.grad();
    if (!grad.defined()) continue;
    torch::Tensor g = grad.to(torch::kFloat32);
    torch::Tensor w = s.master.defined() ? s.master : s.param;
    if (options_.weight_decay > 0 && decays(s.param)) w.mul_(1.0 - lr * options_.weight_decay);
    s.exp_avg.mul_(options_.beta1).add_(g, 1.0 - options_.beta1);
    s.exp_avg_sq.mul_(options_.beta2).addcmul_(g, g, 1.0 - options_.beta2);
    torch::Tensor denom = (s.exp_avg_sq.sqrt() / bias2_sqrt).add_(options_.epsilon);
    w.addcdiv_(s.exp_avg, denom, -lr / bias1);
    if (s.master.defined()) s.param.copy_(s.master);
  }
}

std::map<std::string, torch::Tensor> AdamW::state() const {
  std::map<std::string, torch::Tensor> out;
  for (const Slot& s : slots_) {
    out["exp_avg/" + s.name] = s.exp_avg;
    out["exp_avg_sq/" + s.name] = s.exp_avg_sq;
    if (s.master.defined()) out["master/" + s.name] = s.master;
  }
  out["step"] = torch::tensor({n_steps_}, torch::kInt64);
  return out;
}

void AdamW::load_state(const std::map<std::string, torch::Tensor>& state, const std::string& what) {
  torch::NoGradGuard no_grad;
  auto take = [&](const std::string& key, torch::Tensor& into) {
    auto it = state.find(key);
    if (it == state.end()) fail_input("{}: missing optimiser tensor '{}'", what, key);
    if (it->second.sizes() != into.sizes()) {
      fail_input("{}: optimiser tensor '{}': expected shape {}, got {}", what, key,
                 format_shape(into.sizes()), format_shape(it->second.sizes()));
    }
    into.copy_(it->second);
  };
  for (Slot& s : slots_) {
    take("exp_avg/" + s.name, s.exp_avg);
    take("exp_avg_sq/" + s.name, s.exp_avg_sq);
    if (s.master.defined()) {
      take("master/" + s.name, s.master);
      s.param.copy_(s.master);
    }
  }
  auto it = state.find("step");
  if (it == state.end() || it->second.numel() != 1)
    fail_input("{}: missing optimiser step count", what);
  n_steps_ = it->second.to(torch::kInt64).item<std::int64_t>();
}

double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  torch::NoGradGuard no_grad;
  torch::Tensor total = torch::zeros({}, torch::kFloat64);
  for (const torch::Tensor& p : params) {
    if (p.grad().defined()) total += p.grad().to(torch::kFloat64).pow(2).sum().cpu();
  }
  const double norm = std::sqrt(total.item<double>());
  if (max_norm > 0 && norm > max_norm) {
    const double scale = max_norm / (norm + 1e-6);
    for (const torch::Tensor& p : params) {
      if (p.grad().defined()) p.grad().mul_(scale);
    }
  }
  return norm;
}

}  // namespace enclave::train
