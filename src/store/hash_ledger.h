// The hash ledger: which blobs were found to match their hash, when, and as
// which file (table blob_verifications, schema migration 7), and how many
// bytes the store has hashed in all (store_counters 'hashed_bytes', summed
// over every process, shown by `enclave store stats`).
//
// A blob is hashed when it is stored, when it is first checked out, by
// `enclave store verify`, and again once its last verification is older
// than the workspace's store.verify_max_age (store/workspace_config.h).
// Between those, a checkout file that is the blob's own file (a hard link:
// same device and inode) with the size and modification time recorded at
// the verification is trusted without reading it, so resolving a 16 GB
// model by alias does not re-read 16 GB. Any write to the file changes its
// modification time, so an edited or damaged checkout is hashed again (and
// caught). Copies (an encrypted workspace's decrypted checkouts) are hashed
// on every check, as before.
// Thread safety: as Workspace (one thread at a time per Workspace).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "store/workspace.h"

namespace enclave::store {

// Saves what objects hashed and verified since the last save: adds the bytes
// to the hashed_bytes counter and records each verified blob's stamp and
// time. Inside the caller's transaction when one is open (the rows commit or
// roll back with it), else in a WriteTransaction of its own. Throws what Db
// throws; what was taken from objects is then not saved (it is a cache and a
// count: the next check re-hashes).
void save_hash_ledger(Db& db, ObjectStore& objects);

// True when the blob hex may be handed out without reading it: file (the
// stamp of the file about to be used) is the blob's own file, unchanged
// since a verification recorded less than verify_max_age ago. nullopt is
// never trusted.
bool blob_trusted(Workspace& workspace, std::string_view hex, const std::optional<FileStamp>& file);

struct StoreStats {
  std::uint64_t hashed_bytes = 0;  // by every process since the ledger began
  std::int64_t n_objects = 0;      // blobs under objects/
  std::uint64_t object_bytes = 0;  // their size on disk
  std::int64_t n_verified = 0;     // blobs with a recorded verification
  double verify_max_age_seconds = 0;
};

// Counts this process has not saved yet are saved first.
StoreStats store_stats(Workspace& workspace);
nlohmann::json store_stats_json(const StoreStats& stats);
std::string format_store_stats(const StoreStats& stats);

}  // namespace enclave::store
