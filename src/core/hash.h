// Content hashes: sha256 of bytes, streams and files, as lowercase hex. The
// store names artifacts by these digests and runs record them for inputs, so
// they must match `sha256sum` byte for byte.
// Thread safety: the free functions are safe from any thread; one Sha256
// object must not be updated from two threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace enclave {

// 64 lowercase hex characters.
std::string sha256_hex(std::span<const std::uint8_t> bytes);
std::string sha256_hex(std::string_view bytes);

// Hashes a file by streaming it (constant memory, works for files larger
// than RAM). Throws Error(kNotFound) if missing, Error(kInvalidInput) if it is
// not a regular file, Error(kIo) on a read failure; messages name the path.
std::string sha256_file_hex(const std::filesystem::path& path);

// Incremental sha256, for hashing data while it is written elsewhere.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, std::size_t n);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // The digest of everything passed to update(). The object cannot be
  // updated afterwards (ENCLAVE_CHECK).
  std::string finish_hex();

 private:
  struct Context;
  std::unique_ptr<Context> ctx_;
  bool finished_ = false;
};

}  // namespace enclave
