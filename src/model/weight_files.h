// WeightFiles: the safetensors files of a Hugging Face model directory,
// either one `model.safetensors` or shards listed by
// `model.safetensors.index.json` ({"metadata": ..., "weight_map": {tensor
// name: shard file}}), resolved to one name -> (file, tensor) map.
// Torch-free: used by the loader and by `model inspect`, which only reads
// headers. Shard names are validated (no '/', no '..') so an index cannot
// point outside the directory.
// Thread safety: immutable after construction; safe to read from many threads.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/config.h"
#include "model/safetensors.h"

namespace enclave {

inline constexpr std::string_view kSafetensorsSingle = "model.safetensors";
inline constexpr std::string_view kSafetensorsIndex = "model.safetensors.index.json";

// One tensor of a model directory: its file (kept alive by the shared_ptr,
// which also keeps the memory map alive) and its header entry.
struct WeightRef {
  std::shared_ptr<const SafetensorsFile> file;
  const TensorInfo* info = nullptr;
};

class WeightFiles {
 public:
  // Opens model.safetensors.index.json + shards if the index exists, else
  // model.safetensors. Throws Error(kNotFound) if neither exists or a shard is
  // missing, Error(kInvalidInput) for a malformed index (bad shard name,
  // non-string entries) or an index entry whose shard lacks the tensor.
  explicit WeightFiles(const std::filesystem::path& dir);

  // nullptr if the model has no tensor of that name.
  const WeightRef* find(std::string_view name) const;
  const std::map<std::string, WeightRef, std::less<>>& tensors() const { return tensors_; }
  const std::vector<std::shared_ptr<const SafetensorsFile>>& files() const { return files_; }
  // The file a tensor's errors should name (shard path for sharded models).
  static std::string describe(const WeightRef& ref);

 private:
  std::vector<std::shared_ptr<const SafetensorsFile>> files_;
  std::map<std::string, WeightRef, std::less<>> tensors_;
};

// The name a module parameter has in a checkpoint's files: itself, except
// for the text model of a Gemma 3 vision-language checkpoint, whose tensors
// sit under "language_model.model." or "model.language_model.". Throws
// Error(kInvalidInput) when such a checkpoint has neither.
class StoredNames {
 public:
  StoredNames(const ModelConfig& config, const WeightFiles& files);
  std::string operator()(const std::string& name) const;
  // Tensors of the checkpoint that are not the text model's (vision tower).
  bool is_ignored(std::string_view stored) const;

 private:
  std::string prefix_;
};

// Rejects shard file names that could leave the model directory.
// Throws Error(kInvalidInput) naming `what` (the index file).
void validate_shard_name(std::string_view name, std::string_view what);

}  // namespace enclave
