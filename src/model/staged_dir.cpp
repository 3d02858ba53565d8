#include "model/staged_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <random>

#include "core/error.h"

namespace enclave {
namespace fs = std::filesystem;

namespace {
void fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}
}  // namespace

StagedDir::StagedDir(fs::path out_dir) : out_dir_(std::move(out_dir)) {
  std::error_code ec;
  if (fs::exists(out_dir_, ec)) {
    if (!fs::is_directory(out_dir_, ec))
      fail_input("{}: exists and is not a directory", out_dir_.string());
    if (!fs::is_empty(out_dir_, ec))
      fail_input("{}: directory is not empty; refusing to overwrite", out_dir_.string());
  }
  fs::path parent = fs::absolute(out_dir_).parent_path();
  fs::create_directories(parent, ec);
  if (ec) fail(ErrorKind::kIo, "{}: cannot create directory: {}", parent.string(), ec.message());
  std::random_device rd;
  for (int attempt = 0; attempt < 16; ++attempt) {
    fs::path candidate = parent / fmt::format(".{}.tmp-{:08x}", out_dir_.filename().string(), rd());
    if (fs::create_directory(candidate, ec)) {
      staging_ = candidate;
      return;
    }
  }
  fail(ErrorKind::kIo, "{}: cannot create a staging directory: {}", parent.string(), ec.message());
}

StagedDir::~StagedDir() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(staging_, ec);
  }
}

void StagedDir::commit() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(staging_)) {
    if (entry.is_regular_file()) {
      int fd = ::open(entry.path().c_str(), O_RDONLY);
      if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
      }
    }
  }
  fsync_dir(staging_);
  // An empty destination directory may be replaced (rename needs it gone).
  if (fs::exists(out_dir_, ec)) {
    if (!fs::is_empty(out_dir_, ec))
      fail_input("{}: directory is not empty; refusing to overwrite", out_dir_.string());
    fs::remove(out_dir_, ec);
  }
  fs::rename(staging_, out_dir_, ec);
  if (ec)
    fail(ErrorKind::kIo, "{}: cannot publish model directory: {}", out_dir_.string(), ec.message());
  committed_ = true;
  fsync_dir(fs::absolute(out_dir_).parent_path());
}

}  // namespace enclave
