// Sealed blobs: how an encrypted workspace keeps object bytes on disk, with
// libsodium's crypto_secretstream_xchacha20poly1305 (XChaCha20 with
// Poly1305 per chunk, and a FINAL tag, so truncation, reordering and edits
// are all caught). Chunked, so a blob of any size streams through a fixed
// buffer in both directions.
//
// Format, version 1:
//   "ENCB" 0x01                    magic and format version
//   24 bytes                       secretstream header (random per blob)
//   chunks                         each the sealing of 64 KiB of plaintext
//                                  (+17 bytes), tag MESSAGE; the last holds
//                                  0..64 KiB-1 bytes, tag FINAL
// The blob's name stays the sha256 of its plaintext (store/object_store.h),
// so identical content is still stored once and lineage is unchanged.
// Thread safety: a BlobSealer belongs to one thread; open_sealed is reentrant.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace enclave::store {

using BlobKey = std::array<unsigned char, 32>;

class BlobSealer {
 public:
  using Sink = std::function<void(const void* data, std::size_t n)>;
  // Writes the magic and the stream header to sink at once.
  BlobSealer(const BlobKey& key, Sink sink);
  BlobSealer(const BlobSealer&) = delete;
  BlobSealer& operator=(const BlobSealer&) = delete;

  void write(const void* data, std::size_t n);
  // Seals what is buffered as the FINAL chunk. Call exactly once.
  void finish();

 private:
  void push(bool final);
  Sink sink_;
  std::array<unsigned char, 52> state_{};  // crypto_secretstream_xchacha20poly1305_state
  std::vector<unsigned char> plain_;
  std::vector<unsigned char> sealed_;
  bool finished_ = false;
};

// Reads a sealed blob from fd to its end, handing the plaintext to sink in
// pieces. Returns "" on success, else why it cannot be opened (not a sealed
// blob, wrong key or altered bytes, truncated, bytes after the end); sink
// may have been given a prefix by then. Read errors throw Error(kIo) naming `what`.
std::string open_sealed(int fd, const BlobKey& key,
                        const std::function<void(const char* data, std::size_t n)>& sink,
                        const std::string& what);

// Bytes on disk of a sealed blob of plain_size bytes.
std::uint64_t sealed_size(std::uint64_t plain_size);

}  // namespace enclave::store
