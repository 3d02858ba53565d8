#include "store/audit_key.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include "core/error.h"
#include "core/file.h"
#include "core/hash.h"
#include "store/key_file.h"
#include "store/workspace_key.h"

namespace enclave::store {
namespace {

constexpr std::size_t kMinKeyBytes = 32;

AuditKey read_key(const std::filesystem::path& given) {
  AuditKey key;
  key.file = checked_key_file(given, "audit key");
  key.secret = read_file(key.file);
  while (!key.secret.empty() && (key.secret.back() == '\n' || key.secret.back() == '\r'))
    key.secret.pop_back();
  if (key.secret.size() < kMinKeyBytes) {
    fail_input("{}: audit key has {} bytes, at least {} are needed (head -c 32 /dev/urandom)",
               key.file.string(), key.secret.size(), kMinKeyBytes);
  }
  return key;
}

KeyFileCache<AuditKey> cache(kAuditKeyEnv, read_key);

}  // namespace

void set_audit_key_file(const std::filesystem::path& path) { cache.set_file(path); }

const std::optional<AuditKey>& audit_key() { return cache.get(); }

void check_key_outside(const AuditKey& key, const std::filesystem::path& workspace_root) {
  check_outside(key.file, workspace_root, "audit key");
}

std::string to_hex(const unsigned char* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

std::string from_hex(std::string_view hex, std::size_t n_bytes, std::string_view what) {
  if (hex.size() != 2 * n_bytes)
    fail_input("{}: expected {} hex digits, got {}", what, 2 * n_bytes, hex.size());
  std::string out(n_bytes, '\0');
  auto digit = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    fail_input("{}: '{}' is not a hex digit", what, c);
  };
  for (std::size_t i = 0; i < n_bytes; ++i)
    out[i] = static_cast<char>(digit(hex[2 * i]) * 16 + digit(hex[2 * i + 1]));
  return out;
}

std::string audit_mac(const AuditKey& key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (HMAC(EVP_sha256(), key.secret.data(), static_cast<int>(key.secret.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &n) == nullptr) {
    fail(ErrorKind::kIo, "HMAC-SHA256 failed");
  }
  return std::string(kMacPrefix) + to_hex(mac, n);
}

SigningKeys signing_keys(const AuditKey& key) {
  if (sodium_init() < 0) fail(ErrorKind::kIo, "libsodium cannot be initialised");
  // A seed of its own, so the signing key never equals the MAC key.
  const std::string seed_hex = sha256_hex("enclave audit anchor signing key\n" + key.secret);
  const std::string seed = from_hex(seed_hex, crypto_sign_SEEDBYTES, "seed");
  SigningKeys keys;
  crypto_sign_seed_keypair(keys.public_key.data(), keys.secret_key.data(),
                           reinterpret_cast<const unsigned char*>(seed.data()));
  return keys;
}

}  // namespace enclave::store
