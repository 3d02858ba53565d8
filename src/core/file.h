// Files: whole-file reads, atomic writes (temp file + fsync + rename, so a
// reader sees the complete old file or the complete new one, never a part),
// and read-only memory maps.
// Thread safety: distinct objects may be used from distinct threads; one
// AtomicFile or MappedFile is not safe to share while it is being written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace enclave {

// Reads a whole file. Throws Error(kNotFound) if it is missing, Error(kIo) on
// read failure, Error(kInvalidInput) if it is larger than max_bytes.
std::string read_file(const std::filesystem::path& path,
                      std::uint64_t max_bytes = std::uint64_t{1} << 32);

// Writes data to path atomically (temp file in the same folder, fsync,
// rename, fsync of the folder). Throws Error(kIo) and leaves no temp file on failure.
void write_file_atomic(const std::filesystem::path& path, std::string_view data);

// Writes all n bytes to fd, retrying short writes and EINTR. Throws
// Error(kIo) naming path.
void write_all(int fd, const void* data, std::size_t n, const std::filesystem::path& path);

// Streaming form of write_file_atomic: write() appends, commit() publishes.
// If the object is destroyed without commit(), the temp file is removed and
// the destination is untouched.
class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  void commit();

 private:
  std::filesystem::path path_;
  std::filesystem::path temp_path_;
  int fd_ = -1;
};

// A read-only memory map of a whole file. Empty files map to an empty span.
// Throws Error(kNotFound) / Error(kIo).
class MappedFile {
 public:
  // kByPolicy: mapped unless its folder is one mapping_policy.h reads
  // instead. kAlways: mapped wherever it lies, for a file that is published
  // by rename and never rewritten or truncated in place (removing it leaves
  // a mapping valid), so its pages cannot vanish under the reader: the
  // training token cache, which in an encrypted workspace lies in the
  // process's private plaintext folder, and read whole there would hold a
  // data set larger than memory in memory.
  enum class Mapping { kByPolicy, kAlways };

  explicit MappedFile(const std::filesystem::path& path, Mapping mapping = Mapping::kByPolicy);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::uint8_t> bytes() const { return {data_, size_}; }
  std::size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

  // Drops the pages that hold bytes [offset, offset + n) from this
  // process's resident memory (madvise MADV_DONTNEED, whole pages, so a
  // neighbour's bytes may go too): the bytes stay readable and are paged in
  // from the file (usually the page cache) when next touched. A reader that
  // walks a file larger than memory a piece at a time thus stays at the
  // size of its pieces. Nothing happens for a file that was read, not mapped
  // (mapping_policy.h), whose memory is the only copy.
  void release(std::size_t offset, std::size_t n) const;

 private:
  std::filesystem::path path_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  bool mapped_ = false;  // false: read into anonymous memory
};

}  // namespace enclave
