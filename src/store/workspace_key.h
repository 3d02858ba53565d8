// Encryption at rest: the key of an encrypted workspace and the record that a
// workspace is encrypted. `enclave init --encrypt` writes
// .enclave/encryption.json (format version, ciphers, and a key check value
// derived one-way from the key, never the key) before the database exists;
// from then on every database under .enclave is opened with SQLCipher under
// a key derived from the workspace key, and every blob is sealed with
// libsodium's secretstream (store/blob_cipher.h).
//
// The key is 32 random bytes kept in a file outside the workspace, written
// as 64 hex digits (`enclave store keygen --out F`), mode 0600, named by
// --key-file or $ENCLAVE_WORKSPACE_KEY_FILE. Subkeys for the databases, the
// blobs and the check value are derived from it with crypto_kdf (BLAKE2b),
// so none of them reveals another.
// Thread safety: the key is read once per process, under a lock; the
// functions are safe from any thread.
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>

namespace enclave::store {

inline constexpr const char* kWorkspaceKeyEnv = "ENCLAVE_WORKSPACE_KEY_FILE";
inline constexpr const char* kEncryptionFile = "encryption.json";
inline constexpr std::size_t kWorkspaceKeyBytes = 32;

struct WorkspaceKey {
  std::filesystem::path file;  // absolute
  std::array<unsigned char, kWorkspaceKeyBytes> secret{};

  // SQLCipher's raw key as `x'<64 hex>'` (no key derivation per open).
  std::string database_key() const;
  // The secretstream key of blobs.
  std::array<unsigned char, kWorkspaceKeyBytes> blob_key() const;
  // The AEAD key of sealed run logs (store/sealed_log.h).
  std::array<unsigned char, kWorkspaceKeyBytes> log_key() const;
  // Hex of a one-way value stored in encryption.json to tell a wrong key.
  std::string check_value() const;
};

// Uses this key file for the rest of the process (--key-file); it takes
// precedence over $ENCLAVE_WORKSPACE_KEY_FILE. An empty path goes back to
// the environment.
void set_workspace_key_file(const std::filesystem::path& path);

// Reads and checks a key file. Throws Error(kInvalidInput) naming the file
// when it is missing, not a regular file, readable or writable by group or
// others, or does not hold exactly 64 hex digits (one trailing newline allowed).
WorkspaceKey read_workspace_key(const std::filesystem::path& file);

// The key named by --key-file or the environment, or nullopt when none is.
// Throws like read_workspace_key.
const std::optional<WorkspaceKey>& configured_workspace_key();

// Writes 32 random bytes (libsodium) as hex to a new file at path, mode
// 0600. Throws Error(kInvalidInput) if path exists, Error(kIo) on failure.
void generate_workspace_key(const std::filesystem::path& path);

// True if dot_dir (a workspace's .enclave) holds encryption.json.
bool workspace_encrypted(const std::filesystem::path& dot_dir);

// Writes encryption.json for key into dot_dir (atomically).
void write_encryption_record(const std::filesystem::path& dot_dir, const WorkspaceKey& key);

// The key that opens the encrypted workspace whose .enclave is dot_dir: the
// configured key, checked to lie outside the workspace and to match the
// recorded check value. nullopt for a workspace that is not encrypted.
// Throws Error(kInvalidInput) with one line saying what is wrong: no key
// named, a bad key file, or a key that is not this workspace's.
std::optional<WorkspaceKey> workspace_key_for(const std::filesystem::path& dot_dir);

// The .enclave folder a database path lies in (its parent or an ancestor),
// or an empty path.
std::filesystem::path enclosing_dot_dir(const std::filesystem::path& db_path);

// Throws Error(kInvalidInput) if file lies inside the folder root. `what`
// names the key in the message.
void check_outside(const std::filesystem::path& file, const std::filesystem::path& root,
                   std::string_view what);

}  // namespace enclave::store
