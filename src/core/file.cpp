#include "core/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/mapping_policy.h"

namespace enclave {
namespace {

[[noreturn]] void fail_errno(const std::filesystem::path& path, std::string_view what) {
  int err = errno;
  ErrorKind kind = (err == ENOENT || err == ENOTDIR) ? ErrorKind::kNotFound : ErrorKind::kIo;
  fail(kind, "{}: {}: {}", path.string(), what, std::strerror(err));
}

void fsync_dir(const std::filesystem::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // best effort: some filesystems refuse to open folders
  ::fsync(fd);
  ::close(fd);
}

// Opens path read-only and fills st; the caller owns (and closes) the
// descriptor. Throws Error(kNotFound) or Error(kIo) naming the path.
int open_for_reading(const std::filesystem::path& path, struct stat& st) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_errno(path, "cannot open");
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    fail_errno(path, "cannot stat");
  }
  return fd;
}

std::string temp_suffix() {
  std::random_device rd;
  return fmt::format(".tmp-{}-{:08x}", ::getpid(), rd());
}

}  // namespace

std::string read_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
  struct stat st {};
  const int fd = open_for_reading(path, st);
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    fail_input("{}: is a directory, expected a file", path.string());
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    fail_input("{}: file is {} bytes, more than the limit of {}", path.string(), st.st_size,
               max_bytes);
  }
  std::string out;
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      fail_errno(path, "read failed");
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  out.resize(done);
  return out;
}

void write_file_atomic(const std::filesystem::path& path, std::string_view data) {
  AtomicFile f(path);
  f.write(data);
  f.commit();
}

AtomicFile::AtomicFile(std::filesystem::path path) : path_(std::move(path)) {
  temp_path_ = path_;
  temp_path_ += temp_suffix();
  fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) fail_errno(temp_path_, "cannot create");
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_path_.c_str());
  }
}

void write_all(int fd, const void* data, std::size_t n, const std::filesystem::path& path) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail_errno(path, "write failed");
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

void AtomicFile::write(const void* data, std::size_t n) {
  ENCLAVE_CHECK(fd_ >= 0);
  write_all(fd_, data, n, temp_path_);
}

void AtomicFile::commit() {
  ENCLAVE_CHECK(fd_ >= 0);
  if (::fsync(fd_) != 0) fail_errno(temp_path_, "fsync failed");
  if (::close(fd_) != 0) {
    fd_ = -1;
    ::unlink(temp_path_.c_str());
    fail_errno(temp_path_, "close failed");
  }
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(temp_path_.c_str());
    errno = err;
    fail_errno(path_, "rename failed");
  }
  fsync_dir(path_.parent_path());
}

namespace {

std::mutex unmapped_mutex;
std::vector<std::filesystem::path> unmapped_dirs;

bool read_not_mapped(const std::filesystem::path& path) {
  std::lock_guard lock(unmapped_mutex);
  if (unmapped_dirs.empty()) return false;
  const std::filesystem::path p = std::filesystem::absolute(path).lexically_normal();
  for (const std::filesystem::path& dir : unmapped_dirs) {
    if (std::mismatch(dir.begin(), dir.end(), p.begin(), p.end()).first == dir.end()) return true;
  }
  return false;
}

}  // namespace

void read_instead_of_mapping(const std::filesystem::path& dir) {
  std::lock_guard lock(unmapped_mutex);
  unmapped_dirs.push_back(std::filesystem::absolute(dir).lexically_normal());
}

MappedFile::MappedFile(const std::filesystem::path& path, Mapping mapping) : path_(path) {
  struct stat st {};
  const int fd = open_for_reading(path, st);
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail_input("{}: not a regular file", path.string());
  }
  size_ = static_cast<std::size_t>(st.st_size);
  if (size_ > 0 && mapping == Mapping::kByPolicy && read_not_mapped(path)) {
    // Anonymous memory, so the destructor's munmap frees either kind.
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      fail_errno(path, "cannot allocate memory to read the file");
    }
    auto* buf = static_cast<std::uint8_t*>(p);
    std::size_t done = 0;
    while (done < size_) {
      const ssize_t got = ::read(fd, buf + done, size_ - done);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        const int err = errno;
        ::munmap(p, size_);
        ::close(fd);
        if (got == 0) fail(ErrorKind::kIo, "{}: file shrank while it was read", path.string());
        errno = err;
        fail_errno(path, "read failed");
      }
      done += static_cast<std::size_t>(got);
    }
    ::mprotect(p, size_, PROT_READ);
    data_ = buf;
  } else if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      fail_errno(path, "mmap failed");
    }
    data_ = static_cast<const std::uint8_t*>(p);
    mapped_ = true;
  }
  ::close(fd);
}

void MappedFile::release(std::size_t offset, std::size_t n) const {
  if (!mapped_ || n == 0 || offset >= size_) return;
  static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(data_ + offset) & ~(page - 1);
  const auto end = reinterpret_cast<std::uintptr_t>(data_ + std::min(size_, offset + n));
  // A hint: on failure the pages just stay.
  ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<std::uint8_t*>(data_), size_);
}

}  // namespace enclave
