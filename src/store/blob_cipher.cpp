#include "store/blob_cipher.h"

#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace enclave::store {
namespace {

constexpr unsigned char kMagic[] = {'E', 'N', 'C', 'B', 1};
constexpr std::size_t kPlainChunk = std::size_t{64} << 10;
constexpr std::size_t kHeader = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr std::size_t kTagBytes = crypto_secretstream_xchacha20poly1305_ABYTES;
constexpr std::size_t kSealedChunk = kPlainChunk + kTagBytes;

using State = crypto_secretstream_xchacha20poly1305_state;
static_assert(sizeof(State) == 52);

// Reads until buf is full or the file ends; returns the bytes read.
std::size_t read_full(int fd, unsigned char* buf, std::size_t n, const std::string& what) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t got = ::read(fd, buf + done, n - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail(ErrorKind::kIo, "{}: read failed: {}", what, std::strerror(errno));
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return done;
}

void init_sodium() {
  if (sodium_init() < 0) fail(ErrorKind::kIo, "libsodium cannot be initialised");
}

}  // namespace

BlobSealer::BlobSealer(const BlobKey& key, Sink sink) : sink_(std::move(sink)) {
  init_sodium();
  unsigned char header[kHeader];
  crypto_secretstream_xchacha20poly1305_init_push(reinterpret_cast<State*>(state_.data()), header,
                                                  key.data());
  sink_(kMagic, sizeof kMagic);
  sink_(header, sizeof header);
  plain_.reserve(kPlainChunk);
  sealed_.resize(kSealedChunk);
}

void BlobSealer::write(const void* data, std::size_t n) {
  ENCLAVE_CHECK(!finished_);
  const auto* p = static_cast<const unsigned char*>(data);
  while (n > 0) {
    const std::size_t take = std::min(n, kPlainChunk - plain_.size());
    plain_.insert(plain_.end(), p, p + take);
    p += take;
    n -= take;
    if (plain_.size() == kPlainChunk) push(/*final=*/false);
  }
}

void BlobSealer::finish() {
  ENCLAVE_CHECK(!finished_);
  push(/*final=*/true);
  finished_ = true;
  sodium_memzero(state_.data(), state_.size());
}

void BlobSealer::push(bool final) {
  unsigned long long n = 0;
  crypto_secretstream_xchacha20poly1305_push(
      reinterpret_cast<State*>(state_.data()), sealed_.data(), &n, plain_.data(), plain_.size(),
      nullptr, 0,
      final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
            : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
  sodium_memzero(plain_.data(), plain_.size());
  plain_.clear();
  sink_(sealed_.data(), static_cast<std::size_t>(n));
}

std::string open_sealed(int fd, const BlobKey& key,
                        const std::function<void(const char* data, std::size_t n)>& sink,
                        const std::string& what) {
  init_sodium();
  unsigned char head[sizeof kMagic + kHeader];
  if (read_full(fd, head, sizeof head, what) != sizeof head ||
      std::memcmp(head, kMagic, sizeof kMagic) != 0) {
    return "not a sealed blob (no ENCB version 1 header)";
  }
  State state{};
  if (crypto_secretstream_xchacha20poly1305_init_pull(&state, head + sizeof kMagic, key.data()) !=
      0) {
    return "bad stream header";
  }
  std::vector<unsigned char> sealed(kSealedChunk);
  std::vector<unsigned char> plain(kPlainChunk);
  std::string why;
  for (;;) {
    const std::size_t got = read_full(fd, sealed.data(), sealed.size(), what);
    // A full-size chunk is never the last one; a shorter one must be.
    const bool last = got < sealed.size();
    unsigned long long n = 0;
    unsigned char tag = 0;
    if (got < kTagBytes ||
        crypto_secretstream_xchacha20poly1305_pull(&state, plain.data(), &n, &tag, sealed.data(),
                                                   got, nullptr, 0) != 0) {
      why = got < kTagBytes ? "truncated (no final chunk)"
                            : "authentication failed (wrong key, or the bytes were altered)";
      break;
    }
    const bool final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    if (final != last) {
      why = final ? "bytes after the final chunk" : "truncated (no final chunk)";
      break;
    }
    sink(reinterpret_cast<const char*>(plain.data()), static_cast<std::size_t>(n));
    if (final) break;
  }
  sodium_memzero(plain.data(), plain.size());
  sodium_memzero(&state, sizeof state);
  return why;
}

std::uint64_t sealed_size(std::uint64_t plain_size) {
  return sizeof kMagic + kHeader + plain_size + kTagBytes * (plain_size / kPlainChunk + 1);
}

}  // namespace enclave::store
