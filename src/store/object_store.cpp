#include "store/object_store.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <random>
#include <utility>

#include "core/error.h"
#include "core/file.h"
#include "core/hash.h"
#include "store/clock.h"

namespace enclave::store {
namespace {

constexpr std::size_t kChunk = std::size_t{1} << 20;

[[noreturn]] void fail_errno(const std::filesystem::path& path, std::string_view what, int err) {
  ErrorKind kind = (err == ENOENT || err == ENOTDIR) ? ErrorKind::kNotFound : ErrorKind::kIo;
  fail(kind, "{}: {}: {}", path.string(), what, std::strerror(err));
}

bool is_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void check_hex(std::string_view hex) {
  if (hex.size() != 64 || !is_hex(hex)) {
    fail_input("object name '{}': expected 64 lowercase hex characters", hex.substr(0, 80));
  }
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Opens a stored blob read-only without following a symlink planted in its place.
int open_object(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    int err = errno;
    if (err == ELOOP)
      fail_input("{}: object is a symbolic link; refusing to follow it", path.string());
    fail_errno(path, "cannot open object", err);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail_input("{}: object is not a regular file", path.string());
  }
  return fd;
}

// Reads up to n bytes, retrying on EINTR; returns 0 at end of file.
std::size_t read_some(int fd, char* buf, std::size_t n, const std::filesystem::path& path) {
  for (;;) {
    ssize_t got = ::read(fd, buf, n);
    if (got >= 0) return static_cast<std::size_t>(got);
    if (errno != EINTR) fail_errno(path, "read failed", errno);
  }
}

// The bytes of a blob being stored go through here: sealed when the store
// has a key, as they are otherwise.
class BlobWriter {
 public:
  BlobWriter(LockedTempFile& temp, const std::optional<BlobKey>& key) : temp_(temp) {
    if (key) sealer_.emplace(*key, [this](const void* d, std::size_t n) { temp_.write(d, n); });
  }
  void write(const void* data, std::size_t n) {
    if (sealer_) {
      sealer_->write(data, n);
    } else {
      temp_.write(data, n);
    }
  }
  void finish() {
    if (sealer_) sealer_->finish();
  }

 private:
  LockedTempFile& temp_;
  std::optional<BlobSealer> sealer_;
};

std::string random_suffix() {
  std::random_device rd;
  return fmt::format("{}-{:08x}{:08x}", ::getpid(), rd(), rd());
}

FileStamp stamp_from(const struct stat& st) {
  return {.dev = static_cast<std::uint64_t>(st.st_dev),
          .ino = static_cast<std::uint64_t>(st.st_ino),
          .size = static_cast<std::uint64_t>(st.st_size),
          .mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 +
                      static_cast<std::int64_t>(st.st_mtim.tv_nsec)};
}

}  // namespace

std::optional<FileStamp> stamp_of(const std::filesystem::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return stamp_from(st);
}

void fsync_dir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: some filesystems refuse to open folders
  ::fsync(fd);
  ::close(fd);
}

LockedTempFile::LockedTempFile(const std::filesystem::path& tmp_dir, std::string_view prefix) {
  path_ = tmp_dir / fmt::format("{}-{}", prefix, random_suffix());
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd_ < 0) fail_errno(path_, "cannot create temp file", errno);
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd_);
    ::unlink(path_.c_str());
    fd_ = -1;
    fail_errno(path_, "cannot lock temp file", err);
  }
}

LockedTempFile::~LockedTempFile() {
  if (fd_ >= 0) {
    ::unlink(path_.c_str());
    ::close(fd_);
  }
}

void LockedTempFile::write(const void* data, std::size_t n) {
  ENCLAVE_CHECK(fd_ >= 0);
  write_all(fd_, data, n, path_);
}

bool LockedTempFile::publish(const std::filesystem::path& dest) {
  ENCLAVE_CHECK(fd_ >= 0);
  if (::fsync(fd_) != 0) fail_errno(path_, "fsync failed", errno);
  // Read-only for whoever may read the workspace (the umask, store/workspace.h).
  const mode_t mask = ::umask(0);
  ::umask(mask);
  if (::fchmod(fd_, 0444 & ~mask) != 0) fail_errno(path_, "chmod failed", errno);
  std::filesystem::path parent = dest.parent_path();
  if (::mkdir(parent.c_str(), 0770) == 0) {  // less the umask (workspace.h)
    fsync_dir(parent.parent_path());
  } else if (errno != EEXIST) {
    fail_errno(parent, "cannot create folder", errno);
  }
  // Keep an existing blob of the same size (same name = same content); one of
  // another size is damaged and the rename below replaces it.
  struct stat existing {};
  struct stat mine {};
  if (::lstat(dest.c_str(), &existing) == 0 && S_ISREG(existing.st_mode) &&
      ::fstat(fd_, &mine) == 0 && existing.st_size == mine.st_size) {
    return false;
  }
  if (::rename(path_.c_str(), dest.c_str()) != 0) fail_errno(dest, "rename failed", errno);
  fsync_dir(parent);
  ::close(fd_);  // releases the lock; the file now lives at dest
  fd_ = -1;
  return true;
}

bool temp_is_abandoned(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return errno == ELOOP;  // a symlink in tmp/ is never ours: remove it
  bool abandoned = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);
  return abandoned;
}

ObjectStore::ObjectStore(std::filesystem::path dot_dir)
    : objects_dir_(dot_dir / "objects"),
      tmp_dir_(dot_dir / "tmp"),
      quarantine_dir_(dot_dir / "quarantine") {}

std::filesystem::path ObjectStore::path_of(std::string_view hex) const {
  check_hex(hex);
  return objects_dir_ / "sha256" / std::string(hex.substr(0, 2)) / std::string(hex);
}

bool ObjectStore::contains(std::string_view hex) const {
  struct stat st {};
  return ::lstat(path_of(hex).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

ObjectStore::PutResult ObjectStore::put_file(const std::filesystem::path& src, Progress* progress) {
  int in_fd = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  if (in_fd < 0) fail_errno(src, "cannot open", errno);
  Fd in(in_fd);
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) fail_errno(src, "cannot stat", errno);
  if (!S_ISREG(st.st_mode)) fail_input("{}: not a regular file", src.string());
  ::posix_fadvise(in.get(), 0, 0, POSIX_FADV_SEQUENTIAL);

  LockedTempFile temp(tmp_dir_, "obj");
  BlobWriter out(temp, key_);
  Sha256 hash;
  std::unique_ptr<char[]> buf(new char[kChunk]);
  PutResult result;
  for (;;) {
    std::size_t n = read_some(in.get(), buf.get(), kChunk, src);
    if (n == 0) break;
    hash.update(buf.get(), n);
    count_hashed(n);
    out.write(buf.get(), n);
    result.size += n;
    if (progress != nullptr) progress->advance(n);
  }
  out.finish();
  result.hex = hash.finish_hex();
  const std::filesystem::path dest = path_of(result.hex);
  result.existed = !temp.publish(dest);
  if (!result.existed) {
    // Written and hashed just now: verified when stored.
    if (std::optional<FileStamp> stamp = stamp_of(dest)) {
      std::lock_guard<std::mutex> lock(accounting_mutex_);
      verified_.push_back({result.hex, *stamp});
    }
  }
  return result;
}

ObjectStore::PutResult ObjectStore::put_bytes(std::string_view data) {
  PutResult result;
  result.hex = sha256_hex(data);
  count_hashed(data.size());
  result.size = data.size();
  if (contains(result.hex)) {
    result.existed = true;
    return result;
  }
  LockedTempFile temp(tmp_dir_, "obj");
  BlobWriter out(temp, key_);
  out.write(data.data(), data.size());
  out.finish();
  result.existed = !temp.publish(path_of(result.hex));
  return result;
}

std::string ObjectStore::stream(std::string_view hex,
                                const std::function<void(const char*, std::size_t)>& sink,
                                Progress* progress) const {
  std::filesystem::path path = path_of(hex);
  Fd fd(open_object(path));
  struct stat st {};
  ::fstat(fd.get(), &st);  // open_object checked it is a regular file
  Sha256 hash;
  auto take = [&](const char* data, std::size_t n) {
    hash.update(data, n);
    count_hashed(n);
    if (sink) sink(data, n);
    if (progress != nullptr) progress->advance(n);
  };
  if (!key_) {
    std::unique_ptr<char[]> buf(new char[kChunk]);
    for (;;) {
      std::size_t n = read_some(fd.get(), buf.get(), kChunk, path);
      if (n == 0) break;
      take(buf.get(), n);
    }
  } else {
    const std::string why = open_sealed(fd.get(), *key_, take, path.string());
    if (!why.empty()) return "unreadable: " + why;
  }
  std::string actual = hash.finish_hex();
  if (actual == hex) {
    // The stamp from before the read: a write during it changes the mtime,
    // so the record never vouches for bytes that were not hashed.
    std::lock_guard<std::mutex> lock(accounting_mutex_);
    verified_.push_back({std::string(hex), stamp_from(st)});
  }
  return actual;
}

std::string ObjectStore::hash_file(const std::filesystem::path& path) const {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) fail_errno(path, "cannot open", errno);
  Sha256 hash;
  std::unique_ptr<char[]> buf(new char[kChunk]);
  for (;;) {
    std::size_t n = read_some(fd.get(), buf.get(), kChunk, path);
    if (n == 0) break;
    hash.update(buf.get(), n);
    count_hashed(n);
  }
  return hash.finish_hex();
}

void ObjectStore::count_hashed(std::uint64_t n) const {
  std::lock_guard<std::mutex> lock(accounting_mutex_);
  hashed_bytes_ += n;
  unsaved_hashed_bytes_ += n;
}

std::uint64_t ObjectStore::hashed_bytes() const {
  std::lock_guard<std::mutex> lock(accounting_mutex_);
  return hashed_bytes_;
}

std::uint64_t ObjectStore::take_unsaved_hashed_bytes() {
  std::lock_guard<std::mutex> lock(accounting_mutex_);
  return std::exchange(unsaved_hashed_bytes_, 0);
}

std::vector<ObjectStore::Verified> ObjectStore::take_verified() {
  std::lock_guard<std::mutex> lock(accounting_mutex_);
  return std::exchange(verified_, {});
}

void ObjectStore::fail_corrupt(std::string_view hex, const std::string& actual) {
  const std::filesystem::path path = path_of(hex);
  std::filesystem::path moved = quarantine(hex);
  const std::string what = actual.starts_with("unreadable: ")
                               ? actual.substr(12)
                               : fmt::format("its bytes hash to {}", actual);
  fail(ErrorKind::kIo, "{}: stored object is corrupt ({}); moved to {}", path.string(), what,
       moved.string());
}

std::string ObjectStore::rehash(std::string_view hex, Progress* progress) const {
  return stream(hex, nullptr, progress);
}

void ObjectStore::check(std::string_view hex, Progress* progress) {
  std::string actual = rehash(hex, progress);
  if (actual != hex) fail_corrupt(hex, actual);
}

std::string ObjectStore::read_verified(std::string_view hex, std::uint64_t max_bytes) {
  std::filesystem::path path = path_of(hex);
  struct stat st {};
  // A sealed blob is longer than its content by its header and chunk tags.
  const std::uint64_t limit =
      key_ && max_bytes < UINT64_MAX / 2 ? sealed_size(max_bytes) : max_bytes;
  if (::lstat(path.c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) > limit) {
    fail_input("{}: object is {} bytes, more than the limit of {}", path.string(), st.st_size,
               max_bytes);
  }
  std::string data;
  if (st.st_size > 0) data.reserve(static_cast<std::size_t>(st.st_size));
  std::string actual = stream(
      hex, [&](const char* p, std::size_t n) { data.append(p, n); }, nullptr);
  if (actual != hex) {
    sodium_memzero(data.data(), data.size());
    fail_corrupt(hex, actual);
  }
  return data;
}

void ObjectStore::copy_verified(std::string_view hex, const std::filesystem::path& dest) {
  LockedTempFile copy(dest.parent_path(), ".copy");
  std::string actual = stream(
      hex, [&](const char* p, std::size_t n) { copy.write(p, n); }, nullptr);
  if (actual != hex) fail_corrupt(hex, actual);
  copy.publish(dest);
}

void ObjectStore::reseal_to(std::string_view hex, const BlobKey& key,
                            const std::filesystem::path& dest) const {
  std::filesystem::create_directories(dest.parent_path());
  LockedTempFile temp(dest.parent_path(), ".reseal");
  BlobSealer sealer(key, [&temp](const void* d, std::size_t n) { temp.write(d, n); });
  const std::string actual = stream(
      hex, [&sealer](const char* p, std::size_t n) { sealer.write(p, n); }, nullptr);
  if (actual != hex) {
    fail(ErrorKind::kIo,
         "{}: stored object is corrupt ({}); run `enclave store verify` before re-encrypting",
         path_of(hex).string(), actual);
  }
  sealer.finish();
  temp.publish(dest);
}

std::filesystem::path ObjectStore::quarantine(std::string_view hex) {
  std::filesystem::path from = path_of(hex);
  std::filesystem::path to =
      quarantine_dir_ / fmt::format("{}.{}", hex, static_cast<std::int64_t>(now_unix() * 1000));
  if (::rename(from.c_str(), to.c_str()) != 0) fail_errno(from, "cannot move to quarantine", errno);
  return to;
}

std::filesystem::path ObjectStore::find_quarantined(std::string_view hex) const {
  check_hex(hex);
  std::string prefix = std::string(hex) + ".";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(quarantine_dir_, ec)) {
    if (entry.path().filename().string().starts_with(prefix)) return entry.path();
  }
  return {};
}

ObjectStore::Listing ObjectStore::list() const {
  Listing out;
  std::error_code ec;
  for (const auto& top : std::filesystem::directory_iterator(objects_dir_, ec)) {
    if (top.path().filename() != "sha256" || !top.is_directory() || top.is_symlink()) {
      out.strays.push_back(top.path());
      continue;
    }
    for (const auto& fan : std::filesystem::directory_iterator(top.path())) {
      std::string prefix = fan.path().filename().string();
      if (prefix.size() != 2 || !is_hex(prefix) || fan.is_symlink() || !fan.is_directory()) {
        out.strays.push_back(fan.path());
        continue;
      }
      for (const auto& entry : std::filesystem::directory_iterator(fan.path())) {
        std::string name = entry.path().filename().string();
        if (name.size() == 64 && is_hex(name) && name.compare(0, 2, prefix) == 0 &&
            entry.is_regular_file() && !entry.is_symlink()) {
          out.objects.push_back(name);
        } else {
          out.strays.push_back(entry.path());
        }
      }
    }
  }
  if (ec) fail(ErrorKind::kIo, "{}: cannot list: {}", objects_dir_.string(), ec.message());
  return out;
}

}  // namespace enclave::store
