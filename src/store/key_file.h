// What the audit key (audit_key.h) and the workspace key (workspace_key.h)
// share: a secret file that must be a regular file open to its owner only,
// read once per process from a --key-file override or an environment
// variable.
// Thread safety: KeyFileCache is safe to use from any thread.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string_view>

namespace enclave::store {

// The absolute path of a key file, after checking it is a regular file that
// group and others cannot read; `what` names it in errors ("audit key").
std::filesystem::path checked_key_file(const std::filesystem::path& given, std::string_view what);

template <class Key>
class KeyFileCache {
 public:
  using Reader = Key (*)(const std::filesystem::path&);
  KeyFileCache(const char* env, Reader read) : env_(env), read_(read) {}

  // An empty path returns to the environment variable.
  void set_file(const std::filesystem::path& path) {
    std::lock_guard lock(mutex_);
    override_ = path.empty() ? std::nullopt : std::optional(path);
    loaded_ = false;
    key_.reset();
  }

  const std::optional<Key>& get() {
    std::lock_guard lock(mutex_);
    if (!loaded_) {
      std::optional<std::filesystem::path> file = override_;
      const char* env = std::getenv(env_);
      if (!file && env != nullptr && *env != '\0') file = env;
      if (file) key_ = read_(*file);
      loaded_ = true;
    }
    return key_;
  }

 private:
  const char* env_;
  Reader read_;
  std::mutex mutex_;
  std::optional<std::filesystem::path> override_;
  bool loaded_ = false;
  std::optional<Key> key_;
};

}  // namespace enclave::store
