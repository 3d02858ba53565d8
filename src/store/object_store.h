// ObjectStore: immutable blobs named by the sha256 of their bytes, under
// .enclave/objects/sha256/<first 2 hex>/<64 hex>. A blob is written to a temp
// file in .enclave/tmp (hashed while it is copied), fsynced, made read-only
// and renamed into place, then the folder is fsynced: a reader sees the whole
// blob or nothing, and identical content is stored once. Reads check the hash
// and never hand out bytes that do not match; a mismatching blob is moved to
// .enclave/quarantine so it cannot be served again.
// Objects are never followed through symlinks (O_NOFOLLOW).
// In an encrypted workspace (set_key) each blob is sealed on its way in and
// opened on its way out (store/blob_cipher.h); names, dedup, hash checks and
// quarantine work on the plaintext exactly as before.
// Every byte it hashes (storing, checking, reading, checkouts it is asked to
// hash) is counted, and every blob whose hash it found right is noted with
// the identity of the file read (FileStamp); store/hash_ledger.h saves both
// to the database, so a later process can trust an unchanged blob.
// Thread safety: safe from several threads and processes at once; the
// filesystem's atomic rename is the only coordination blobs need.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/progress.h"
#include "store/blob_cipher.h"

namespace enclave::store {

// What identifies a file's bytes without reading them: a file with the same
// device, inode, size and modification time (ns) has not been written since.
struct FileStamp {
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

// The stamp of the regular file at path (not followed through a symlink), or
// nullopt when it is missing or not a regular file.
std::optional<FileStamp> stamp_of(const std::filesystem::path& path);

class ObjectStore {
 public:
  // dot_dir is the workspace's .enclave folder; objects/, tmp/ and
  // quarantine/ must exist under it.
  explicit ObjectStore(std::filesystem::path dot_dir);

  // Seals blobs written from now on and opens blobs read under key.
  void set_key(const BlobKey& key) { key_ = key; }
  bool sealed() const { return key_.has_value(); }

  struct PutResult {
    std::string hex;  // sha256 of the content
    std::uint64_t size = 0;
    bool existed = false;  // the blob was already stored (nothing was added)
  };

  // Copies the regular file at src into the store. progress, if given,
  // advances by bytes copied. Throws Error(kNotFound) if src is missing,
  // Error(kInvalidInput) if it is not a regular file, Error(kIo) on a read or
  // write failure (ENOSPC included); nothing is left behind on failure.
  PutResult put_file(const std::filesystem::path& src, Progress* progress = nullptr);
  PutResult put_bytes(std::string_view data);

  bool contains(std::string_view hex) const;
  std::filesystem::path path_of(std::string_view hex) const;

  // Reads a whole blob and checks its hash. A missing blob throws
  // Error(kNotFound); a mismatch quarantines it and throws Error(kIo) saying
  // it is corrupt; over max_bytes throws Error(kInvalidInput).
  std::string read_verified(std::string_view hex, std::uint64_t max_bytes = 1u << 30);
  // Streams a blob and checks its hash, with the same failures.
  void check(std::string_view hex, Progress* progress = nullptr);
  // The sha256 of the bytes actually on disk (of their plaintext when
  // sealed; "unreadable: <why>" when they cannot be opened), without acting
  // on a mismatch.
  std::string rehash(std::string_view hex, Progress* progress = nullptr) const;
  // Writes the blob's content (plaintext) to a new file at dest (mode 0600,
  // published by rename once complete and checked), with the failures of
  // check(): wrong bytes never reach dest.
  void copy_verified(std::string_view hex, const std::filesystem::path& dest);
  // Writes the blob sealed under key to a new file at dest (for rekeying),
  // checking its content on the way; a corrupt blob throws Error(kIo).
  void reseal_to(std::string_view hex, const BlobKey& key, const std::filesystem::path& dest) const;
  // Moves the blob to quarantine/<hex>.<time> (so a good copy can be stored
  // again) and returns where it went.
  std::filesystem::path quarantine(std::string_view hex);
  // Where a quarantined copy of the blob lies, or an empty path.
  std::filesystem::path find_quarantined(std::string_view hex) const;

  // Hashes a file outside the store (a checkout's copy of a blob), counting
  // its bytes; errors as sha256_file_hex.
  std::string hash_file(const std::filesystem::path& path) const;

  // A blob found to hash to its name, and the stamp of its file when it was read.
  struct Verified {
    std::string hex;
    FileStamp stamp;
  };
  // Bytes hashed since construction.
  std::uint64_t hashed_bytes() const;
  // What was hashed and verified since the last call (for saving; see
  // store/hash_ledger.h), cleared.
  std::uint64_t take_unsaved_hashed_bytes();
  std::vector<Verified> take_verified();

  struct Listing {
    std::vector<std::string> objects;           // hex names of blob files
    std::vector<std::filesystem::path> strays;  // anything else found under objects/
  };
  Listing list() const;

  const std::filesystem::path& objects_dir() const { return objects_dir_; }
  const std::filesystem::path& tmp_dir() const { return tmp_dir_; }
  const std::filesystem::path& quarantine_dir() const { return quarantine_dir_; }

 private:
  std::filesystem::path objects_dir_;
  std::filesystem::path tmp_dir_;
  std::filesystem::path quarantine_dir_;
  std::optional<BlobKey> key_;

  mutable std::mutex accounting_mutex_;
  mutable std::uint64_t hashed_bytes_ = 0;
  mutable std::uint64_t unsaved_hashed_bytes_ = 0;
  mutable std::vector<Verified> verified_;
  void count_hashed(std::uint64_t n) const;

  // Streams the content to sink (nullptr: hash only); returns its sha256 or
  // "unreadable: <why>".
  std::string stream(std::string_view hex,
                     const std::function<void(const char*, std::size_t)>& sink,
                     Progress* progress) const;
  [[noreturn]] void fail_corrupt(std::string_view hex, const std::string& actual);
};

// A temp file in tmp/, created O_EXCL and held under an exclusive flock while
// open, so gc can tell an abandoned temp file (no lock: its writer died) from
// one being written. The destructor removes the file unless it was published.
class LockedTempFile {
 public:
  LockedTempFile(const std::filesystem::path& tmp_dir, std::string_view prefix);
  ~LockedTempFile();
  LockedTempFile(const LockedTempFile&) = delete;
  LockedTempFile& operator=(const LockedTempFile&) = delete;

  int fd() const { return fd_; }
  const std::filesystem::path& path() const { return path_; }
  void write(const void* data, std::size_t n);
  // fsync, chmod 0444 and rename to dest; if dest already exists the temp is
  // dropped and false is returned (someone stored the same blob).
  bool publish(const std::filesystem::path& dest);

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

// True if nobody holds a lock on the temp file or folder at path (its writer
// exited or was killed). A temp whose lock is held is being written.
bool temp_is_abandoned(const std::filesystem::path& path);

// fsync of a folder, so a rename or new entry in it survives power loss.
void fsync_dir(const std::filesystem::path& dir);

}  // namespace enclave::store
