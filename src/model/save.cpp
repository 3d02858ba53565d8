#include "model/save.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/file.h"
#include "core/staging_dir.h"
#include "model/safetensors.h"
#include "model/weight_files.h"

namespace enclave {
namespace {

struct StoredDtype {
  DType dtype;
  torch::Dtype torch;
  const char* config_name;
};

StoredDtype stored_dtype(const std::string& name) {
  if (name == "f32") return {DType::kF32, torch::kFloat32, "float32"};
  if (name == "bf16") return {DType::kBF16, torch::kBFloat16, "bfloat16"};
  if (name == "f16") return {DType::kF16, torch::kFloat16, "float16"};
  fail_input("save: dtype '{}' is not a storage dtype (expected f32, bf16 or f16)", name);
}

}  // namespace

void save_model(TransformerImpl& model, const std::filesystem::path& out_dir,
                const SaveOptions& options) {
  const StoredDtype stored = stored_dtype(options.dtype);
  if (options.max_shard_bytes == 0) fail_input("save: max_shard_bytes must be positive");
  StagingDir staged(out_dir);

  ModelConfig config = model.config();
  config.torch_dtype = stored.config_name;
  write_file_atomic(staged.path() / "config.json", to_json(config).dump(2) + "\n");

  // Plan shards greedily in module order; a tensor larger than the limit
  // gets a shard of its own.
  struct Entry {
    std::string name;
    torch::Tensor tensor;
    std::uint64_t bytes;
  };
  std::vector<std::vector<Entry>> shards(1);
  std::uint64_t shard_bytes = 0;
  std::uint64_t total_bytes = 0;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) {
    const std::uint64_t bytes =
        static_cast<std::uint64_t>(item.value().numel()) * dtype_size(stored.dtype);
    if (!shards.back().empty() && shard_bytes + bytes > options.max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().push_back({item.key(), item.value(), bytes});
    shard_bytes += bytes;
    total_bytes += bytes;
  }

  torch::NoGradGuard no_grad;
  nlohmann::json weight_map = nlohmann::json::object();
  for (std::size_t s = 0; s < shards.size(); ++s) {
    const std::string file_name =
        shards.size() == 1
            ? std::string(kSafetensorsSingle)
            : fmt::format("model-{:05d}-of-{:05d}.safetensors", s + 1, shards.size());
    // Converted copies live only while their shard is written.
    std::vector<torch::Tensor> host;
    std::vector<TensorToWrite> tensors;
    for (const Entry& e : shards[s]) {
      torch::Tensor t = e.tensor.detach().to(torch::kCPU, stored.torch).contiguous();
      host.push_back(t);
      std::vector<std::int64_t> shape(t.sizes().begin(), t.sizes().end());
      tensors.push_back(
          {e.name, stored.dtype, shape,
           std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(t.data_ptr()), e.bytes)});
      weight_map[e.name] = file_name;
    }
    write_safetensors(staged.path() / file_name, tensors, {{"format", "pt"}});
  }
  if (shards.size() > 1) {
    nlohmann::json index = {{"metadata", {{"total_size", total_bytes}}},
                            {"weight_map", weight_map}};
    write_file_atomic(staged.path() / kSafetensorsIndex, index.dump(2) + "\n");
  }

  if (!options.copy_files_from.empty()) {
    for (const char* name : kModelSideFiles) {
      const std::filesystem::path src = options.copy_files_from / name;
      if (std::filesystem::exists(src)) write_file_atomic(staged.path() / name, read_file(src));
    }
  }
  staged.commit();
}

}  // namespace enclave
