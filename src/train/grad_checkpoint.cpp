#include "train/grad_checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/custom_function.h>

#include <mutex>

namespace enclave::train {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

torch::Tensor rng_state() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_rng_state(const torch::Tensor& state) {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

struct CheckpointedLayer : public torch::autograd::Function<CheckpointedLayer> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& cos, const torch::Tensor& sin,
                               const torch::Tensor& mask, DecoderLayerImpl* layer) {
    ctx->saved_data["layer"] = reinterpret_cast<std::int64_t>(layer);
    ctx->saved_data["rng"] = rng_state();
    ctx->save_for_backward({x, cos, sin, mask});
    torch::NoGradGuard no_grad;
    return layer->forward(x, cos, sin, mask, nullptr, 0);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    auto* layer = reinterpret_cast<DecoderLayerImpl*>(ctx->saved_data["layer"].toInt());
    variable_list saved = ctx->get_saved_variables();
    torch::Tensor x = saved[0].detach().requires_grad_(true);
    const torch::Tensor now = rng_state();
    set_rng_state(ctx->saved_data["rng"].toTensor());
    torch::Tensor y;
    {
      torch::AutoGradMode grad_on(true);
      y = layer->forward(x, saved[1], saved[2], saved[3], nullptr, 0);
    }
    set_rng_state(now);
    // Accumulates into the layer's parameters and gives x's gradient.
    torch::autograd::backward({y}, {grad_out[0]});
    return {x.grad(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

void set_gradient_checkpointing(TransformerImpl& model, bool enabled) {
  if (!enabled) {
    model.layer_runner_ = nullptr;
    return;
  }
  model.layer_runner_ = [](DecoderLayerImpl& layer, const torch::Tensor& x,
                           const torch::Tensor& cos, const torch::Tensor& sin,
                           const torch::Tensor& mask) {
    if (!torch::GradMode::is_enabled()) return layer.forward(x, cos, sin, mask, nullptr, 0);
    // The layer's weights are not inputs of the function: with a frozen
    // embedding (LoRA) the input must require grad or backward never runs.
    torch::Tensor input = x.requires_grad() ? x : x.detach().requires_grad_(true);
    return CheckpointedLayer::apply(input, cos, sin, mask, &layer);
  };
}

}  // namespace enclave::train
