// `enclave store rekey --new-key-file F`: re-encrypts an encrypted workspace
// under a new key. Every blob is opened with the old key, checked against
// its name and sealed with the new one, and every database is copied with
// sqlcipher_export under the new key, all into .enclave/rekey/ beside the
// live files; then a COMMIT file is written there, and only after it are
// the new files renamed over the old ones (encryption.json, which names the
// key, last). An interruption before COMMIT leaves the old workspace as it
// was (the next rekey or `store gc` clears the half-made folder); one after
// it is finished by the next command that opens the workspace, which then
// needs the new key. No plaintext is written to disk on the way.
// The workspace must be idle: rekey holds the store lock exclusively and
// refuses while runs are running; stop `enclave serve` first.
// Thread safety: see workspace.h.
#pragma once

#include <cstdint>
#include <filesystem>

namespace enclave::store {

struct RekeyResult {
  std::int64_t n_objects = 0;
  std::int64_t n_databases = 0;
};

// Re-encrypts the workspace at root (opened with the configured key, see
// workspace_key.h) under the key in new_key_file. Throws Error(kInvalidInput) if the workspace is
// not encrypted, the new key file is bad, lies inside the workspace or equals the current key, or
// runs are running; Error(kIo) on failures (the old key still opens the workspace then).
RekeyResult rekey_workspace(const std::filesystem::path& root,
                            const std::filesystem::path& new_key_file);

// Finishes a rekey that wrote its COMMIT file and was interrupted while
// renaming (see above); nothing to do otherwise. Called before a
// workspace's databases are opened.
void finish_interrupted_rekey(const std::filesystem::path& dot_dir);

}  // namespace enclave::store
