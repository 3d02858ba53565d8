// Reads the special-token settings Hugging Face spreads over three files.
// Precedence follows transformers' PreTrainedTokenizerBase.from_pretrained:
// tokenizer_config.json gives the initial values and special_tokens_map.json
// overrides the token texts it names.
#include "text/special_tokens.h"

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "core/json.h"

namespace enclave {

using nlohmann::json;

namespace {

// A token field is a string, an AddedToken object {"content": ...}, or null.
std::optional<std::string> read_token_text(const json& obj, const char* key,
                                           const std::string& what) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto content = it->find("content");
    if (content == it->end() || !content->is_string()) {
      fail_input("{}: field '{}': object has no string 'content'", what, key);
    }
    return content->get<std::string>();
  }
  fail_input("{}: field '{}': expected a string or an object with 'content', got {}", what, key,
             json_type_name(*it));
}

std::optional<bool> read_optional_bool(const json& obj, const char* key, const std::string& what) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) {
    fail_input("{}: field '{}': expected true or false, got {}", what, key, json_type_name(*it));
  }
  return it->get<bool>();
}

// chat_template is a string, or a list of {"name", "template"} of which
// transformers uses "default" when no name is asked for and "tool_use" when
// tools are passed.
void read_chat_template(const json& obj, const std::string& what, SpecialTokenConfig& config) {
  auto it = obj.find("chat_template");
  if (it == obj.end() || it->is_null()) return;
  if (it->is_string()) {
    config.chat_template = it->get<std::string>();
    return;
  }
  if (!it->is_array()) {
    fail_input("{}: field 'chat_template': expected a string or a list of templates, got {}", what,
               json_type_name(*it));
  }
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& entry = (*it)[i];
    std::string entry_what = fmt::format("{}: chat_template[{}]", what, i);
    std::string name = json_string(entry, "name", entry_what);
    std::string text = json_string(entry, "template", entry_what);
    if (name == "default") config.chat_template = std::move(text);
    if (name == "tool_use") config.chat_template_tool_use = std::move(text);
  }
}

void read_tokens(const json& obj, const std::string& what, SpecialTokenConfig& config) {
  if (auto v = read_token_text(obj, "bos_token", what)) config.bos_token = std::move(v);
  if (auto v = read_token_text(obj, "eos_token", what)) config.eos_token = std::move(v);
  if (auto v = read_token_text(obj, "unk_token", what)) config.unk_token = std::move(v);
  if (auto v = read_token_text(obj, "pad_token", what)) config.pad_token = std::move(v);
}

std::int64_t read_token_id(const json& value, const std::string& what) {
  std::int64_t id = 0;
  if (value.is_number_integer()) {
    id = value.get<std::int64_t>();
  } else if (value.is_number_unsigned()) {
    id = static_cast<std::int64_t>(std::min<std::uint64_t>(
        value.get<std::uint64_t>(), std::numeric_limits<std::int64_t>::max()));
  } else {
    fail_input("{}: field 'eos_token_id': expected an integer, got {}", what,
               json_type_name(value));
  }
  if (id < 0 || id > std::numeric_limits<std::int32_t>::max()) {
    fail_input("{}: field 'eos_token_id': token id {} out of range", what, id);
  }
  return id;
}

json read_object(const std::filesystem::path& path) {
  json doc = read_json_file(path);
  if (!doc.is_object()) {
    fail_input("{}: expected a JSON object, got {}", path.string(), json_type_name(doc));
  }
  return doc;
}

}  // namespace

SpecialTokenConfig read_special_token_config(const std::filesystem::path& model_dir) {
  SpecialTokenConfig config;

  std::filesystem::path config_path = model_dir / "tokenizer_config.json";
  if (std::filesystem::exists(config_path)) {
    json doc = read_object(config_path);
    std::string what = config_path.string();
    read_tokens(doc, what, config);
    config.add_bos_token = read_optional_bool(doc, "add_bos_token", what);
    config.add_eos_token = read_optional_bool(doc, "add_eos_token", what);
    read_chat_template(doc, what, config);
  }

  std::filesystem::path map_path = model_dir / "special_tokens_map.json";
  if (std::filesystem::exists(map_path)) {
    read_tokens(read_object(map_path), map_path.string(), config);
  }

  std::filesystem::path generation_path = model_dir / "generation_config.json";
  if (std::filesystem::exists(generation_path)) {
    json doc = read_object(generation_path);
    std::string what = generation_path.string();
    auto it = doc.find("eos_token_id");
    if (it != doc.end() && !it->is_null()) {
      if (it->is_array()) {
        for (const json& v : *it) config.generation_eos_ids.push_back(read_token_id(v, what));
      } else {
        config.generation_eos_ids.push_back(read_token_id(*it, what));
      }
    }
  }
  return config;
}

}  // namespace enclave
