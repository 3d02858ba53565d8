// StagingDir: a folder written in full before anyone may see it. Two uses:
//  - beside a destination (StagingDir(target)): a hidden sibling
//    `.NAME.tmp-XXXXXXXX` on the same filesystem; commit() fsyncs its files
//    and renames it to the target, so a model, checkpoint or adapter folder
//    appears whole or not at all;
//  - scratch (StagingDir::scratch(parent, prefix)): `PREFIX-XXXXXXXXXXXXXXXX`
//    inside a workspace's .enclave/tmp for output that the store then copies
//    in (register_version); it is never committed.
// Either way the folder is held under an exclusive flock while the object
// lives (so `enclave store gc` leaves it alone, store/gc.h) and is removed
// with its contents on destruction unless committed.
// Thread safety: one object per writer; distinct objects are independent.
#pragma once

#include <filesystem>
#include <string_view>

namespace enclave {

class StagingDir {
 public:
  // Staging for `target`. Throws Error(kInvalidInput) if target exists and is
  // not an empty directory, Error(kIo) if the parent or the staging folder
  // cannot be created.
  explicit StagingDir(std::filesystem::path target);
  // A scratch folder inside `parent` (created if missing). Throws Error(kIo).
  static StagingDir scratch(const std::filesystem::path& parent, std::string_view prefix);
  ~StagingDir();
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;

  // Where to write the files.
  const std::filesystem::path& path() const { return path_; }

  // Publishes the folder as the target (an empty target directory is
  // replaced). Throws Error(kInvalidInput) if the target has meanwhile become
  // a non-empty directory or a file, Error(kIo) if the rename fails; the
  // staging folder is then still removed on destruction. A scratch folder
  // cannot be committed (ENCLAVE_CHECK).
  void commit();

 private:
  StagingDir(const std::filesystem::path& parent, std::string_view prefix);
  void lock();

  std::filesystem::path target_;  // empty for scratch folders
  std::filesystem::path path_;
  int lock_fd_ = -1;
  bool committed_ = false;
};

}  // namespace enclave
