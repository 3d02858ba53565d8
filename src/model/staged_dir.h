// StagedDir: writes a model directory so that it appears whole or not at
// all. Files go into a hidden sibling staging folder; commit() renames it to
// the destination (one rename on the same filesystem). If the object dies
// without commit(), the staging folder is removed.
// Torch-free. Thread safety: one object per writer.
#pragma once

#include <filesystem>

namespace enclave {

class StagedDir {
 public:
  // Throws Error(kInvalidInput) if out_dir exists and is not an empty
  // directory, Error(kIo) if the staging folder cannot be created.
  explicit StagedDir(std::filesystem::path out_dir);
  ~StagedDir();
  StagedDir(const StagedDir&) = delete;
  StagedDir& operator=(const StagedDir&) = delete;

  // Where to write the files.
  const std::filesystem::path& path() const { return staging_; }
  // Publishes the folder as out_dir. Throws Error(kIo) on failure.
  void commit();

 private:
  std::filesystem::path out_dir_;
  std::filesystem::path staging_;
  bool committed_ = false;
};

}  // namespace enclave
