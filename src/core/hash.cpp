#include "core/hash.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace enclave {

struct Sha256::Context {
  EVP_MD_CTX* md = nullptr;
};

Sha256::Sha256() : ctx_(std::make_unique<Context>()) {
  ctx_->md = EVP_MD_CTX_new();
  // Allocation or an OpenSSL built without sha256: not the user's input.
  ENCLAVE_CHECK(ctx_->md != nullptr);
  ENCLAVE_CHECK(EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) == 1);
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_->md); }

void Sha256::update(const void* data, std::size_t n) {
  ENCLAVE_CHECK(!finished_);
  if (n == 0) return;
  ENCLAVE_CHECK(EVP_DigestUpdate(ctx_->md, data, n) == 1);
}

std::string Sha256::finish_hex() {
  ENCLAVE_CHECK(!finished_);
  finished_ = true;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  ENCLAVE_CHECK(EVP_DigestFinal_ex(ctx_->md, digest, &len) == 1);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

std::string sha256_hex(std::span<const std::uint8_t> bytes) {
  Sha256 h;
  h.update(bytes.data(), bytes.size());
  return h.finish_hex();
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.finish_hex();
}

std::string sha256_file_hex(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    fail(err == ENOENT || err == ENOTDIR ? ErrorKind::kNotFound : ErrorKind::kIo,
         "{}: cannot open: {}", path.string(), std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    fail(ErrorKind::kIo, "{}: cannot stat: {}", path.string(), std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail_input("{}: not a regular file", path.string());
  }
  // Large reads keep syscall overhead small next to hashing (~1 GB/s).
  std::vector<char> buffer(std::size_t{1} << 20);
  Sha256 h;
  while (true) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      fail(ErrorKind::kIo, "{}: read failed: {}", path.string(), std::strerror(err));
    }
    if (n == 0) break;
    h.update(buffer.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  return h.finish_hex();
}

}  // namespace enclave
