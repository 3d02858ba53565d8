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

StoredNames::StoredNames(const ModelConfig& config, const WeightFiles& files) {
  if (!config.text_of_multimodal) return;
  if (files.find("language_model.model.embed_tokens.weight") != nullptr) {
    prefix_ = "language_model.";
  } else if (files.find("model.language_model.embed_tokens.weight") != nullptr) {
    prefix_ = "model.language_model.";
  } else {
    fail_input(
        "{}: no 'language_model.model.embed_tokens.weight' or "
        "'model.language_model.embed_tokens.weight' (a Gemma3ForConditionalGeneration checkpoint "
        "keeps its text model there)",
        files.files().empty() ? std::string("model")
                              : files.files()[0]->path().parent_path().string());
  }
}

std::string StoredNames::operator()(const std::string& name) const {
  if (prefix_.empty()) return name;
  if (prefix_ == "language_model.") return prefix_ + name;
  // "model.x" -> "model.language_model.x"; lm_head stays at the top.
  if (name.starts_with("model.")) return prefix_ + name.substr(6);
  return name;
}

bool StoredNames::is_ignored(std::string_view name) const {
  if (prefix_.empty()) return false;
  for (std::string_view p : {"vision_tower.", "multi_modal_projector.", "model.vision_tower.",
                             "model.multi_modal_projector."}) {
    if (name.starts_with(p)) return true;
  }
  return false;
}

}  // namespace enclave
