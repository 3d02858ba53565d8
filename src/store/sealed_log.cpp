#include "store/sealed_log.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/file.h"

namespace enclave::store {
namespace {

constexpr char kMagic[] = {'E', 'N', 'C', 'L', 1};
constexpr std::size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;

}  // namespace

void append_log(const std::filesystem::path& path, std::string_view text,
                const std::optional<WorkspaceKey>& key) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    fail(ErrorKind::kIo, "{}: cannot open run log: {}", path.string(), std::strerror(errno));
  try {
    if (!key) {
      write_all(fd, text.data(), text.size(), path);
    } else {
      if (sodium_init() < 0) fail(ErrorKind::kIo, "libsodium cannot be initialised");
      std::string out;
      struct stat st {};
      if (::fstat(fd, &st) == 0 && st.st_size == 0) out.append(kMagic, sizeof kMagic);
      const std::uint32_t n = static_cast<std::uint32_t>(text.size() + kTag);
      for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
      unsigned char nonce[kNonce];
      randombytes_buf(nonce, sizeof nonce);
      out.append(reinterpret_cast<const char*>(nonce), sizeof nonce);
      const std::size_t at = out.size();
      out.resize(at + n);
      const auto log_key = key->log_key();
      unsigned long long written = 0;
      crypto_aead_xchacha20poly1305_ietf_encrypt(
          reinterpret_cast<unsigned char*>(out.data() + at), &written,
          reinterpret_cast<const unsigned char*>(text.data()), text.size(), nullptr, 0, nullptr,
          nonce, log_key.data());
      // One write, so records of concurrent appenders never interleave.
      write_all(fd, out.data(), out.size(), path);
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

std::string read_log(const std::filesystem::path& path, const std::optional<WorkspaceKey>& key,
                     std::uint64_t max_bytes) {
  std::string data = read_file(path, max_bytes);
  if (data.size() < sizeof kMagic || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0)
    return data;
  if (!key) fail_input("{}: the run log is encrypted and no workspace key is named", path.string());
  if (sodium_init() < 0) fail(ErrorKind::kIo, "libsodium cannot be initialised");
  const auto log_key = key->log_key();
  std::string out;
  std::size_t pos = sizeof kMagic;
  while (pos < data.size()) {
    if (data.size() - pos < 4 + kNonce)
      fail_input("{}: torn record at byte {}", path.string(), pos);
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i)
      n |= std::uint32_t{static_cast<unsigned char>(data[pos + i])} << (8 * i);
    const auto* nonce = reinterpret_cast<const unsigned char*>(data.data() + pos + 4);
    pos += 4 + kNonce;
    if (n < kTag || data.size() - pos < n)
      fail_input("{}: torn record at byte {}", path.string(), pos);
    const std::size_t at = out.size();
    out.resize(at + n - kTag);
    unsigned long long got = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            reinterpret_cast<unsigned char*>(out.data() + at), &got, nullptr,
            reinterpret_cast<const unsigned char*>(data.data() + pos), n, nullptr, 0, nonce,
            log_key.data()) != 0) {
      fail_input("{}: record at byte {} fails authentication (wrong key, or altered)",
                 path.string(), pos);
    }
    pos += n;
  }
  return out;
}

}  // namespace enclave::store
