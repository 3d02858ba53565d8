#include "model/quant_weights.h"

#include <fmt/format.h>

#include <map>

#include "core/error.h"
#include "model/gguf_import.h"
#include "model/gguf_reader.h"
#include "model/weights.h"

namespace enclave {

std::set<std::string> load_quant_weights(TransformerImpl& model, const std::filesystem::path& dir,
                                         const torch::Device& device) {
  const std::filesystem::path path = dir / kQuantWeightsFile;
  std::set<std::string> provided;
  if (!std::filesystem::exists(path)) return provided;
  if (!device.is_cpu())
    fail(ErrorKind::kUnsupported, "{}: quantised weights run on the CPU only (device {})",
         path.string(), device.str());
  auto file = std::make_shared<const GgufFile>(path);
  std::map<std::string, std::shared_ptr<const QuantMatrix>*> slots;
  std::map<std::string, torch::Tensor*> weights;
  for (const auto& item : model.named_modules()) {
    if (auto* linear = item.value()->as<LinearImpl>()) {
      slots[item.key() + ".weight"] = &linear->quant_;
      weights[item.key() + ".weight"] = &linear->weight_;
    } else if (auto* embedding = item.value()->as<EmbeddingImpl>()) {
      slots[item.key() + ".weight"] = &embedding->quant_;
      weights[item.key() + ".weight"] = &embedding->weight_;
    }
  }
  for (const GgufTensor& t : file->tensors()) {
    auto slot = slots.find(t.name);
    if (slot == slots.end())
      fail_input("{}: tensor '{}' is not the weight of a linear or embedding layer of {}",
                 path.string(), t.name, model.config().architecture);
    const std::optional<QuantType> type = quant_type_of(t.type);
    if (!type)
      fail(ErrorKind::kUnsupported, "{}: tensor '{}': type {} has no quantised kernel",
           path.string(), t.name, ggml_type_name(t.type));
    torch::Tensor& weight = *weights.at(t.name);
    if (t.shape.size() != 2 || static_cast<std::int64_t>(t.shape[0]) != weight.size(0) ||
        static_cast<std::int64_t>(t.shape[1]) != weight.size(1))
      fail_input("{}: tensor '{}': shape [{}] differs from the model's {}", path.string(), t.name,
                 fmt::join(t.shape, ", "), format_shape(weight.sizes()));
    auto matrix = std::make_shared<QuantMatrix>();
    matrix->type = *type;
    matrix->rows = weight.size(0);
    matrix->cols = weight.size(1);
    matrix->data = t.data.data();
    matrix->owner = file;
    *slot->second = std::move(matrix);
    torch::NoGradGuard no_grad;
    // Shape without storage: nothing reads it while quant_ is set.
    weight.set_data(torch::zeros({1}, weight.options()).expand(weight.sizes()));
    provided.insert(t.name);
  }
  return provided;
}

}  // namespace enclave
