#include "model/weights.h"

#include <fmt/format.h>

#include <set>

#include "core/error.h"

namespace enclave {

torch::Dtype torch_dtype_of(DType dtype) {
  switch (dtype) {
    case DType::kF64:
      return torch::kFloat64;
    case DType::kF32:
      return torch::kFloat32;
    case DType::kF16:
      return torch::kFloat16;
    case DType::kBF16:
      return torch::kBFloat16;
    case DType::kI64:
      return torch::kInt64;
    case DType::kI32:
      return torch::kInt32;
    case DType::kI16:
      return torch::kInt16;
    case DType::kI8:
      return torch::kInt8;
    case DType::kU8:
      return torch::kUInt8;
    case DType::kBool:
      return torch::kBool;
  }
  fail(ErrorKind::kUnsupported, "dtype {} has no torch equivalent", static_cast<int>(dtype));
}

std::string format_shape(c10::IntArrayRef shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

torch::Tensor load_tensor(const WeightRef& ref, torch::Dtype dtype, const torch::Device& device,
                          bool allow_mmap) {
  const TensorInfo& info = *ref.info;
  std::span<const std::uint8_t> bytes = ref.file->data(info);
  const torch::Dtype stored = torch_dtype_of(info.dtype);
  // Keeps the file (and its memory map) alive as long as the tensor.
  std::shared_ptr<const SafetensorsFile> keep = ref.file;
  void* ptr = const_cast<std::uint8_t*>(bytes.data());
  const bool aligned = reinterpret_cast<std::uintptr_t>(ptr) % dtype_size(info.dtype) == 0;
  if (!aligned || bytes.empty()) {
    // An unaligned or empty view cannot be wrapped safely; copy instead.
    torch::Tensor t = torch::empty(info.shape, torch::dtype(stored));
    if (!bytes.empty()) std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
    return t.to(device, dtype);
  }
  torch::Tensor view = torch::from_blob(
      ptr, info.shape, [keep](void*) mutable { keep.reset(); }, torch::dtype(stored));
  if (allow_mmap && stored == dtype && device.is_cpu()) return view;
  // .to() returns the same tensor when nothing changes, so copy explicitly.
  if (stored == dtype && device.is_cpu()) return view.clone();
  return view.to(device, dtype);
}

namespace {

bool is_float(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kBF16 || dtype == DType::kF16 ||
         dtype == DType::kF64;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string source_of(const WeightFiles& files) {
  if (files.files().size() == 1) return files.files()[0]->path().string();
  return (files.files().at(0)->path().parent_path() / kSafetensorsIndex).string();
}

}  // namespace

void load_weights(TransformerImpl& model, const WeightFiles& files, const LoadOptions& options) {
  const std::string source = source_of(files);
  std::set<std::string, std::less<>> expected;
  const StoredNames stored_name(model.config(), files);
  for (auto& item : model.named_parameters(/*recurse=*/true)) {
    if (options.provided.count(item.key()) != 0) continue;
    const std::string name = stored_name(item.key());
    torch::Tensor& param = item.value();
    expected.insert(name);
    const WeightRef* ref = files.find(name);
    if (ref == nullptr) {
      fail_input("{}: missing tensor '{}' (expected shape {})", source, name,
                 format_shape(param.sizes()));
    }
    const TensorInfo& info = *ref->info;
    const std::string file = WeightFiles::describe(*ref);
    if (!is_float(info.dtype)) {
      fail_input("{}: tensor '{}': dtype {} is not a float type", file, name,
                 dtype_safetensors_name(info.dtype));
    }
    if (c10::IntArrayRef(info.shape) != param.sizes()) {
      fail_input("{}: tensor '{}': expected shape {}, got {}", file, name,
                 format_shape(param.sizes()), format_shape(info.shape));
    }
    torch::NoGradGuard no_grad;
    param.set_data(load_tensor(*ref, model.dtype(), options.device, options.allow_mmap));
  }
  for (const auto& [name, ref] : files.tensors()) {
    if (expected.count(name) != 0) continue;
    // Old checkpoints carry the rotary buffer; a tied model may still ship
    // lm_head.weight, which HF ignores as well.
    if (ends_with(name, "rotary_emb.inv_freq")) continue;
    if (name.ends_with("lm_head.weight") && model.config().tie_word_embeddings) continue;
    if (stored_name.is_ignored(name)) continue;
    fail_input("{}: unexpected tensor '{}' (shape {}) not used by {}", WeightFiles::describe(ref),
               name, format_shape(ref.info->shape), model.config().architecture);
  }
}

}  // namespace enclave
