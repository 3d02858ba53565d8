// Run logs of an encrypted workspace (.enclave/logs/run-<id>.log): text is
// appended as sealed records, each on its own, so a log still grows one
// write at a time and a torn last record loses only itself.
//
// Format, version 1: "ENCL" 0x01, then records of
//   u32 little-endian n | 24-byte random nonce | n bytes of
//   XChaCha20-Poly1305 (IETF AEAD) ciphertext of the appended text
// under a key derived from the workspace key (WorkspaceKey::log_key).
// A log without the header is plain text (a plaintext workspace's).
// Thread safety: callers serialise appends to one file (Run holds a lock).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "store/workspace_key.h"

namespace enclave::store {

// Appends text to the log at path (created 0644 less the umask), sealed
// when key is given. Throws Error(kIo) naming the file.
void append_log(const std::filesystem::path& path, std::string_view text,
                const std::optional<WorkspaceKey>& key);

// The whole text of the log at path. A sealed log without a key, a record
// that fails authentication, or a torn record throws Error(kInvalidInput)
// naming the file.
std::string read_log(const std::filesystem::path& path, const std::optional<WorkspaceKey>& key,
                     std::uint64_t max_bytes);

}  // namespace enclave::store
