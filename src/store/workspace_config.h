// The workspace's settings: .enclave/config.json, a JSON object of sections
// ({"store": {"verify_max_age": "7d"}}), written by `enclave store config KEY
// VALUE` or by hand. A missing file means every default. Unknown sections or
// keys and bad values are errors naming the file and the key, so a typo never
// silently leaves a default in force.
//
//   store.verify_max_age   how long a verified blob is trusted without
//                          reading it again (durations as 90s, 12h, 7d, 2w;
//                          "0": every use re-hashes); default 7d
//
// Thread safety: stateless functions; a WorkspaceConfig is a plain value.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace enclave::store {

struct WorkspaceConfig {
  double verify_max_age_seconds = 7 * 86400.0;
};

// The settings in dot_dir/config.json (dot_dir is the workspace's .enclave).
// Throws Error(kInvalidInput) naming the file and key for bad content.
WorkspaceConfig load_workspace_config(const std::filesystem::path& dot_dir);

// The keys a workspace config may hold ("store.verify_max_age", ...).
std::vector<std::string> workspace_config_keys();

// The value of key as written in the file, or its default when unset.
// Throws Error(kInvalidInput) for an unknown key.
std::string workspace_config_value(const std::filesystem::path& dot_dir, const std::string& key);

// Sets key to value (checked as load_workspace_config checks it) and
// rewrites the file atomically. Throws Error(kInvalidInput) for an unknown
// key or a bad value, leaving the file as it was.
void set_workspace_config_value(const std::filesystem::path& dot_dir, const std::string& key,
                                const std::string& value);

}  // namespace enclave::store
