#include "store/workspace_config.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "store/clock.h"

namespace enclave::store {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kFileName = "config.json";

struct KeySpec {
  const char* section;
  const char* name;
  const char* fallback;
  // Checks value and stores it in config; throws Error(kInvalidInput) naming what.
  void (*apply)(const std::string& value, const std::string& what, WorkspaceConfig& config);
};

void apply_verify_max_age(const std::string& value, const std::string& what,
                          WorkspaceConfig& config) {
  config.verify_max_age_seconds = parse_duration(value, what);
}

constexpr KeySpec kKeys[] = {
    {"store", "verify_max_age", "7d", apply_verify_max_age},
};

std::string dotted(const KeySpec& k) { return fmt::format("{}.{}", k.section, k.name); }

const KeySpec& find_key(const std::string& key) {
  for (const KeySpec& k : kKeys) {
    if (dotted(k) == key) return k;
  }
  std::string known;
  for (const KeySpec& k : kKeys) known += (known.empty() ? "" : ", ") + dotted(k);
  fail_input("workspace config: unknown key '{}' (known: {})", key, known);
}

json read_file(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(file, ec))) return json::object();
  json root = read_json_file(file);
  if (!root.is_object())
    fail_input("{}: expected a JSON object of sections, got {}", file.string(),
               json_type_name(root));
  return root;
}

// Every key of root checked and applied to a default config.
WorkspaceConfig apply_all(const json& root, const fs::path& file) {
  WorkspaceConfig config;
  for (const auto& [section, keys] : root.items()) {
    if (!keys.is_object())
      fail_input("{}: section '{}': expected an object, got {}", file.string(), section,
                 json_type_name(keys));
    for (const auto& [name, value] : keys.items()) {
      const std::string key = section + "." + name;
      const std::string what = fmt::format("{}: {}", file.string(), key);
      const KeySpec* spec = nullptr;
      try {
        spec = &find_key(key);
      } catch (const Error& e) {
        fail_input("{}: {}", file.string(), e.what());
      }
      if (!value.is_string())
        fail_input("{}: expected a string, got {}", what, json_type_name(value));
      spec->apply(value.get<std::string>(), what, config);
    }
  }
  return config;
}

}  // namespace

WorkspaceConfig load_workspace_config(const fs::path& dot_dir) {
  const fs::path file = dot_dir / kFileName;
  return apply_all(read_file(file), file);
}

std::vector<std::string> workspace_config_keys() {
  std::vector<std::string> out;
  for (const KeySpec& k : kKeys) out.push_back(dotted(k));
  return out;
}

std::string workspace_config_value(const fs::path& dot_dir, const std::string& key) {
  const KeySpec& spec = find_key(key);
  const fs::path file = dot_dir / kFileName;
  const json root = read_file(file);
  apply_all(root, file);
  const auto section = root.find(spec.section);
  if (section == root.end() || !section->contains(spec.name)) return spec.fallback;
  return (*section)[spec.name].get<std::string>();
}

void set_workspace_config_value(const fs::path& dot_dir, const std::string& key,
                                const std::string& value) {
  const KeySpec& spec = find_key(key);
  const fs::path file = dot_dir / kFileName;
  json root = read_file(file);
  root[spec.section][spec.name] = value;
  apply_all(root, file);
  write_file_atomic(file, root.dump(2) + "\n");
}

}  // namespace enclave::store
