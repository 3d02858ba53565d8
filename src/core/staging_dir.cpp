#include "core/staging_dir.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdint>
#include <random>

#include "core/error.h"

namespace enclave {
namespace fs = std::filesystem;

namespace {

// "out/" names the folder "out", not an empty name inside it.
fs::path without_trailing_slash(const fs::path& p) {
  return p.has_filename() || !p.has_parent_path() ? p : p.parent_path();
}

void require_empty_or_absent(const fs::path& target) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(target, ec))) return;
  if (!fs::is_directory(fs::symlink_status(target, ec)))
    fail_input("{}: exists and is not a directory", target.string());
  if (!fs::is_empty(target, ec))
    fail_input("{}: directory is not empty; refusing to overwrite", target.string());
}

// Best effort, as for AtomicFile's folder: some filesystems refuse to open
// folders, and the rename is what makes the result visible either way.
void fsync_path(const fs::path& path, int flags) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | flags);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

StagingDir::StagingDir(fs::path target) : target_(without_trailing_slash(target)) {
  require_empty_or_absent(target_);
  const fs::path parent = fs::absolute(target_).parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) fail(ErrorKind::kIo, "{}: cannot create directory: {}", parent.string(), ec.message());
  std::random_device rd;
  for (int attempt = 0; attempt < 16 && path_.empty(); ++attempt) {
    fs::path candidate = parent / fmt::format(".{}.tmp-{:08x}", target_.filename().string(), rd());
    if (fs::create_directory(candidate, ec)) path_ = candidate;
  }
  if (path_.empty()) {
    fail(ErrorKind::kIo, "{}: cannot create a staging directory: {}", parent.string(),
         ec.message());
  }
  lock();
}

StagingDir::StagingDir(const fs::path& parent, std::string_view prefix) {
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) fail(ErrorKind::kIo, "{}: cannot create directory: {}", parent.string(), ec.message());
  std::random_device rd;
  for (int attempt = 0; attempt < 16 && path_.empty(); ++attempt) {
    fs::path candidate =
        parent / fmt::format("{}-{:016x}", prefix, (std::uint64_t{rd()} << 32) | rd());
    if (fs::create_directory(candidate, ec)) path_ = candidate;
    if (ec) fail(ErrorKind::kIo, "{}: cannot create: {}", candidate.string(), ec.message());
  }
  if (path_.empty()) fail(ErrorKind::kIo, "{}: cannot create a scratch folder", parent.string());
  lock();
}

StagingDir StagingDir::scratch(const fs::path& parent, std::string_view prefix) {
  return StagingDir(parent, prefix);
}

void StagingDir::lock() {
  lock_fd_ = ::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    std::error_code ec;
    fs::remove_all(path_, ec);
    fail(ErrorKind::kIo, "{}: cannot lock the staging folder", path_.string());
  }
}

StagingDir::~StagingDir() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void StagingDir::commit() {
  ENCLAVE_CHECK(!target_.empty() && !committed_);
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(path_, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file()) fsync_path(it->path(), 0);
    if (it->is_directory()) fsync_path(it->path(), O_DIRECTORY);
  }
  fsync_path(path_, O_DIRECTORY);
  // An empty destination directory may be replaced (rename needs it gone).
  require_empty_or_absent(target_);
  if (fs::exists(fs::symlink_status(target_, ec))) fs::remove(target_, ec);
  fs::rename(path_, target_, ec);
  if (ec) {
    fail(ErrorKind::kIo, "{}: cannot publish the staged directory: {}", target_.string(),
         ec.message());
  }
  committed_ = true;
  fsync_path(fs::absolute(target_).parent_path(), O_DIRECTORY);
}

}  // namespace enclave
