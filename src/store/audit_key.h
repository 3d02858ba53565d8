// The secret that keys the audit chain (audit.h) and signs its anchors
// (audit_anchor.h). Entries carry HMAC-SHA256 under this key instead of a
// plain sha256, so someone who can write the workspace's database but not
// read the key cannot rewrite the log and recompute its hashes. The key is
// a file kept outside the workspace (any bytes, at least 32, e.g.
// `head -c 32 /dev/urandom > /etc/enclave/audit.key`), named by
// --audit-key-file or $ENCLAVE_AUDIT_KEY_FILE. Anchors are signed with
// Ed25519 (libsodium) under a key pair derived from the same secret, so
// there is one secret to keep and the public key can be handed out.
// Thread safety: the key is read once per process, under a lock; the
// functions are safe from any thread.
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace enclave::store {

inline constexpr const char* kAuditKeyEnv = "ENCLAVE_AUDIT_KEY_FILE";
inline constexpr std::string_view kMacPrefix = "hmac-sha256:";

// Uses this key file for the rest of the process (the --audit-key-file
// flag); it takes precedence over $ENCLAVE_AUDIT_KEY_FILE. An empty path
// goes back to the environment.
void set_audit_key_file(const std::filesystem::path& path);

struct AuditKey {
  std::filesystem::path file;  // absolute
  std::string secret;
};

// The key, or nullopt when no key file is named. Throws Error(kInvalidInput)
// naming the file when it cannot be read, holds fewer than 32 bytes, or can
// be read by other users (mode & 077).
const std::optional<AuditKey>& audit_key();

// Throws Error(kInvalidInput) if the key file lies inside the workspace at
// root: a key stored beside the log protects nothing.
void check_key_outside(const AuditKey& key, const std::filesystem::path& workspace_root);

// "hmac-sha256:" + lowercase hex of HMAC-SHA256(key, data).
std::string audit_mac(const AuditKey& key, std::string_view data);

struct SigningKeys {
  std::array<unsigned char, 32> public_key{};
  std::array<unsigned char, 64> secret_key{};
};
// The Ed25519 key pair of this audit key (seeded by a hash of the secret).
SigningKeys signing_keys(const AuditKey& key);

std::string to_hex(const unsigned char* data, std::size_t n);
// Throws Error(kInvalidInput) naming `what` for bad hex or a wrong length.
std::string from_hex(std::string_view hex, std::size_t n_bytes, std::string_view what);

}  // namespace enclave::store
