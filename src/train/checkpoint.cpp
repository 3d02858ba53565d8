#include "train/checkpoint.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/json.h"
#include "model/safetensors.h"
#include "model/weight_files.h"
#include "model/weights.h"

namespace enclave::train {
namespace {

DType stored_dtype(torch::Dtype t, const std::string& name) {
  switch (t) {
    case torch::kFloat32:
      return DType::kF32;
    case torch::kFloat64:
      return DType::kF64;
    case torch::kBFloat16:
      return DType::kBF16;
    case torch::kFloat16:
      return DType::kF16;
    case torch::kInt64:
      return DType::kI64;
    case torch::kInt32:
      return DType::kI32;
    case torch::kUInt8:
      return DType::kU8;
    case torch::kBool:
      return DType::kBool;
    default:
      break;
  }
  fail(ErrorKind::kInternal, "checkpoint: tensor '{}' has a dtype safetensors cannot hold", name);
}

std::int64_t step_of(const std::filesystem::path& p) {
  const std::string name = p.filename().string();
  if (name.size() != 13 || name.rfind("step-", 0) != 0) return -1;
  std::int64_t step = 0;
  for (std::size_t i = 5; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    step = step * 10 + (name[i] - '0');
  }
  return step;
}

}  // namespace

void save_tensor_file(const std::filesystem::path& path,
                      const std::map<std::string, torch::Tensor>& tensors) {
  std::vector<torch::Tensor> host;
  std::vector<TensorToWrite> items;
  host.reserve(tensors.size());
  for (const auto& [name, t] : tensors) {
    torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    host.push_back(c);
    const DType dtype = stored_dtype(c.scalar_type(), name);
    items.push_back(
        {name, dtype, std::vector<std::int64_t>(c.sizes().begin(), c.sizes().end()),
         std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(c.data_ptr()),
                                       static_cast<std::size_t>(c.numel()) * dtype_size(dtype))});
  }
  write_safetensors(path, items, {{"format", "pt"}});
}

std::map<std::string, torch::Tensor> load_tensor_file(const std::filesystem::path& path) {
  auto file = std::make_shared<const SafetensorsFile>(path);
  std::map<std::string, torch::Tensor> out;
  for (const TensorInfo& info : file->tensors()) {
    const torch::Dtype dtype = torch_dtype_of(info.dtype);
    out[info.name] = load_tensor(WeightRef{file, &info}, dtype, torch::kCPU, /*allow_mmap=*/false);
  }
  return out;
}

std::string checkpoint_name(std::int64_t step) { return fmt::format("step-{:08d}", step); }

std::vector<std::filesystem::path> list_checkpoints(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_directory() && step_of(entry.path()) >= 0 &&
        std::filesystem::exists(entry.path() / kTrainerStateFile)) {
      out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return step_of(a) < step_of(b); });
  return out;
}

void prune_checkpoints(const std::filesystem::path& dir, std::int64_t keep) {
  std::vector<std::filesystem::path> all = list_checkpoints(dir);
  for (std::size_t i = 0;
       i + static_cast<std::size_t>(std::max<std::int64_t>(keep, 1)) < all.size(); ++i) {
    std::filesystem::remove_all(all[i]);
  }
}

nlohmann::json read_trainer_state(const std::filesystem::path& checkpoint) {
  const std::filesystem::path path = checkpoint / kTrainerStateFile;
  if (!std::filesystem::exists(path)) {
    fail(ErrorKind::kNotFound, "{}: not a training checkpoint (no {})", checkpoint.string(),
         kTrainerStateFile);
  }
  nlohmann::json state = read_json_file(path);
  const std::string what = path.string();
  if (!state.is_object()) fail_input("{}: expected a JSON object", what);
  const std::int64_t version = json_int(state, "format_version", what);
  if (version != kCheckpointFormatVersion) {
    fail_input("{}: field 'format_version': {} is not supported (expected {})", what, version,
               kCheckpointFormatVersion);
  }
  json_int(state, "step", what);
  json_string(state, "mode", what);
  if (!state.contains("config") || !state["config"].is_object())
    fail_input("{}: field 'config' is missing", what);
  return state;
}

std::filesystem::path resolve_resume(const std::string& resume,
                                     const std::filesystem::path& checkpoint_dir) {
  if (resume != "latest") {
    read_trainer_state(resume);
    return resume;
  }
  std::vector<std::filesystem::path> all = list_checkpoints(checkpoint_dir);
  if (all.empty()) {
    fail(ErrorKind::kNotFound, "resume latest: no checkpoint in {}",
         checkpoint_dir.empty() ? "(no checkpoint_dir)" : checkpoint_dir.string());
  }
  return all.back();
}

}  // namespace enclave::train
