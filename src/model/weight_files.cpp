#include "model/weight_files.h"

#include "core/error.h"
#include "core/json.h"

namespace enclave {

void validate_shard_name(std::string_view name, std::string_view what) {
  if (name.empty() || name.find('/') != std::string_view::npos ||
      name.find('\\') != std::string_view::npos || name.find("..") != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    fail_input(
        "{}: field 'weight_map': shard file name '{}' must be a plain file name in the model "
        "directory (no '/', '\\' or '..')",
        what, name);
  }
}

WeightFiles::WeightFiles(const std::filesystem::path& dir) {
  const std::filesystem::path index_path = dir / kSafetensorsIndex;
  const std::filesystem::path single_path = dir / kSafetensorsSingle;
  if (!std::filesystem::exists(index_path)) {
    if (!std::filesystem::exists(single_path)) {
      fail(ErrorKind::kNotFound, "{}: no {} or {} in the model directory", dir.string(),
           kSafetensorsSingle, kSafetensorsIndex);
    }
    auto file = std::make_shared<const SafetensorsFile>(single_path);
    files_.push_back(file);
    for (const TensorInfo& info : file->tensors())
      tensors_.emplace(info.name, WeightRef{file, &info});
    return;
  }

  const std::string what = index_path.string();
  nlohmann::json index = read_json_file(index_path);
  if (!index.is_object()) fail_input("{}: expected a JSON object, got {}", what, index.type_name());
  auto map_it = index.find("weight_map");
  if (map_it == index.end() || !map_it->is_object()) {
    fail_input("{}: field 'weight_map': expected an object of tensor name -> shard file", what);
  }
  std::map<std::string, std::shared_ptr<const SafetensorsFile>, std::less<>> shards;
  for (const auto& [name, shard] : map_it->items()) {
    if (!shard.is_string()) {
      fail_input("{}: field 'weight_map': entry '{}': expected a file name string, got {}", what,
                 name, shard.type_name());
    }
    const std::string shard_name = shard.get<std::string>();
    validate_shard_name(shard_name, what);
    auto it = shards.find(shard_name);
    if (it == shards.end()) {
      const std::filesystem::path shard_path = dir / shard_name;
      if (!std::filesystem::exists(shard_path)) {
        fail(ErrorKind::kNotFound, "{}: tensor '{}': shard file '{}' does not exist", what, name,
             shard_name);
      }
      auto file = std::make_shared<const SafetensorsFile>(shard_path);
      files_.push_back(file);
      it = shards.emplace(shard_name, file).first;
    }
    const TensorInfo* info = it->second->find(name);
    if (info == nullptr) {
      fail_input("{}: tensor '{}': listed in weight_map but missing from shard '{}'", what, name,
                 shard_name);
    }
    tensors_.emplace(name, WeightRef{it->second, info});
  }
}

const WeightRef* WeightFiles::find(std::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::string WeightFiles::describe(const WeightRef& ref) { return ref.file->path().string(); }

}  // namespace enclave
