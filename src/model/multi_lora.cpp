#include "model/multi_lora.h"

#include <map>
#include <string>

#include "core/error.h"
#include "model/lora.h"

namespace enclave {

// Per distinct adapter of the rows: its id and the rows (int64 on the
// model's device) that use it; rebuilt by set_rows.
struct MultiLora::Rows {
  std::vector<std::pair<int, torch::Tensor>> groups;
};

struct MultiLora::Layer : LinearAdapter {
  std::weak_ptr<LinearImpl> linear;
  struct Weights {
    torch::Tensor a;  // (r, in) fp32
    torch::Tensor b;  // (out, r) fp32
    double scaling = 1.0;
  };
  std::map<int, Weights> by_adapter;
  std::shared_ptr<Rows> rows;

  // x: (N, T, in) -> the term added to the Linear's (N, T, out), or
  // undefined when no row's adapter adapts this layer.
  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor out;
    for (const auto& [id, index] : rows->groups) {
      auto it = by_adapter.find(id);
      if (it == by_adapter.end()) continue;
      const Weights& w = it->second;
      torch::Tensor h = x.index_select(0, index).to(w.a.scalar_type());
      torch::Tensor term =
          (torch::linear(torch::linear(h, w.a), w.b) * w.scaling).to(x.scalar_type());
      if (!out.defined()) {
        std::vector<std::int64_t> shape(x.sizes().begin(), x.sizes().end());
        shape.back() = w.b.size(0);
        out = torch::zeros(shape, x.options());
      }
      out.index_copy_(0, index, term);
    }
    return out;
  }
};

std::shared_ptr<MultiLora> MultiLora::attach(TransformerImpl& model,
                                             const std::vector<std::filesystem::path>& dirs) {
  std::shared_ptr<MultiLora> multi(new MultiLora());
  multi->n_adapters_ = static_cast<int>(dirs.size());
  multi->rows_ = std::make_shared<Rows>();
  std::map<std::string, std::shared_ptr<LinearImpl>> linears;
  for (const auto& item : model.named_modules()) {
    if (auto linear = std::dynamic_pointer_cast<LinearImpl>(item.value()))
      linears[item.key()] = linear;
  }
  std::map<std::string, std::shared_ptr<Layer>> layers;
  for (std::size_t k = 0; k < dirs.size(); ++k) {
    // Loaded through the single-adapter path (its checks), then unhooked:
    // the tensors are kept here.
    std::shared_ptr<LoraAdapter> adapter = LoraAdapter::attach_saved(model, dirs[k]);
    const double scaling = adapter->config().scaling();
    const auto named = adapter->named_parameters();  // A then B per module
    adapter->detach();
    constexpr std::string_view kPrefix = "base_model.model.";
    for (std::size_t i = 0; i + 1 < named.size(); i += 2) {
      const std::string& a_name = named[i].first;
      const std::string module =
          a_name.substr(kPrefix.size(),
                        a_name.size() - kPrefix.size() - std::string_view(".lora_A.weight").size());
      auto linear = linears.find(module);
      ENCLAVE_CHECK(linear != linears.end());
      std::shared_ptr<Layer>& layer = layers[module];
      if (!layer) {
        layer = std::make_shared<Layer>();
        layer->linear = linear->second;
        layer->rows = multi->rows_;
      }
      layer->by_adapter[static_cast<int>(k) + 1] = {named[i].second.detach(),
                                                    named[i + 1].second.detach(), scaling};
    }
  }
  for (auto& [module, layer] : layers) {
    linears[module]->adapter_ = layer;
    multi->layers_.push_back(layer);
  }
  return multi;
}

MultiLora::~MultiLora() {
  for (auto& layer : layers_) {
    if (auto linear = layer->linear.lock(); linear && linear->adapter_ == layer)
      linear->adapter_ = nullptr;
  }
}

void MultiLora::set_rows(const std::vector<int>& adapters) {
  std::map<int, std::vector<std::int64_t>> rows;
  for (std::size_t r = 0; r < adapters.size(); ++r)
    if (adapters[r] > 0) rows[adapters[r]].push_back(static_cast<std::int64_t>(r));
  rows_->groups.clear();
  torch::Device device = torch::kCPU;
  if (!layers_.empty()) {
    if (auto linear = layers_.front()->linear.lock()) device = linear->weight_.device();
  }
  for (auto& [id, index] : rows)
    rows_->groups.emplace_back(id, torch::tensor(index, torch::kInt64).to(device));
}

}  // namespace enclave
