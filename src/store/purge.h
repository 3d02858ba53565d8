// Erasure of a registry version (`enclave datasets purge NAME@V`), for data
// that must be gone, not just hidden (a deletion request, a legal hold
// lifted). Unlike delete (registry.h, soft), purge hard-deletes:
//   - the version's content: its artifact's file rows and blobs (each blob
//     overwritten with zeros, then unlinked; a blob another recorded
//     artifact also names is kept, and said so), its checkout and any
//     quarantined copy;
//   - its aliases and tags;
//   - the deleted rows' text inside enclave.db: SQLite's secure_delete, then
//     VACUUM and a TRUNCATE checkpoint (db.h scrub_deleted), so nothing is
//     left in the database file or its -wal file.
// What stays is a tombstone: the version's row (kind, name, number, the
// artifact digest, the run that made it, who created, deleted and purged it,
// when) with its source path blanked, so the runs and models that used it
// still show in `enclave lineage`, marked purged. A model trained on the
// version keeps working and its lineage says its data was erased; purge is
// never refused for that. The audit log keeps its entries (the chain must
// verify), which record names, digests, tag values and the path a version
// was registered from, but never content.
// If another live version names the same artifact, the content is kept
// (erasing it would break that version) and the result says which.
// Thread safety: see workspace.h; takes the store lock exclusively, as gc.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "store/registry.h"
#include "store/workspace.h"

namespace enclave::store {

struct PurgedVersion {
  VersionInfo version;  // the tombstone as it is now (deleted_at set, source "")
  double purged_at = 0;
  std::vector<std::string> aliases_removed;
  std::vector<std::string> tags_removed;      // keys
  bool content_erased = false;                // false: a live version below still names it
  std::vector<std::string> content_kept_for;  // live versions naming the same artifact
  std::int64_t n_objects_removed = 0;
  std::uint64_t bytes_removed = 0;
  std::int64_t n_objects_shared = 0;  // blobs kept: another artifact names them too
  std::int64_t n_checkouts_removed = 0;
};

// Purges the version ref names ("name@3" only, as delete; a deleted version
// may be purged, a purged one not again) with a "purge" audit entry in the
// same transaction, then removes the files and scrubs the database. Throws
// Error(kInvalidInput) for a reference without an explicit version,
// Error(kNotFound) for an unknown or already purged version, Error(kIo) if
// files cannot be removed or another process kept the database busy (the
// rows are gone by then; running it again finishes the scrub).
PurgedVersion purge_version(Workspace& workspace, RegistryKind kind, std::string_view ref);

nlohmann::json purged_version_json(const PurgedVersion& purged);
std::string format_purged_version(const PurgedVersion& purged);

}  // namespace enclave::store
