// Where an encrypted workspace's checkouts are decrypted: a private folder
// of this process, .enclave/tmp/plain-<pid>-<random> (mode 0700, flocked
// while the process lives), removed when the process exits, so no plaintext
// stays under .enclave after a command. One left by a killed process is
// removed by the next command that opens the workspace, and by `store gc`
// (an unlocked temp folder). Files under it are read, never mapped
// (core/mapping_policy.h).
// Thread safety: safe from any thread.
#pragma once

#include <filesystem>

namespace enclave::store {

// This process's cache folder under tmp_dir, made on first use.
std::filesystem::path plaintext_cache_dir(const std::filesystem::path& tmp_dir);

// Removes cache folders under tmp_dir whose process is gone.
void remove_abandoned_plaintext(const std::filesystem::path& tmp_dir);

}  // namespace enclave::store
