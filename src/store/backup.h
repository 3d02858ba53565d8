// Backup and restore of a whole workspace (`enclave store backup DIR`,
// `enclave store restore DIR`), consistent while the store is in use.
//
// Backup: holds the store lock shared (gc and purge wait; writers go on),
// copies audit.head first (a head file may lag the log, never run ahead of
// it), then every database under .enclave (enclave.db, serve/requests.db,
// any other *.db) with SQLite's online backup API, each as one snapshot,
// then the blobs that snapshot of enclave.db names (copied, never hard
// linked: a backup must not share inodes with the store), then the run logs
// and any other file of the workspace. Checkouts, temp files, quarantine,
// locks and -wal/-shm files are left out (rebuilt or meaningless elsewhere).
// manifest.json, written last, lists every file with its size and sha256:
//
//   DIR/manifest.json                 {format, format_version, created_at,
//                                      source, schema_version, audit_head, files}
//   DIR/enclave.db, DIR/serve/requests.db, DIR/objects/sha256/..., DIR/logs/...
//
// A folder without manifest.json is an unfinished backup. Databases are
// opened through Db, so an encrypted workspace's backup stays encrypted
// under the same key; blobs are copied as stored.
//
// Restore: reads the manifest, copies every file into a temp folder beside
// the target's .enclave while checking its size and sha256 against the
// manifest, opens the copy as a workspace (migrating an older schema), marks
// runs that were running at backup time as failed (their process writes to
// the original workspace), appends a "restore" audit entry, and only then
// renames the copy into place. A corrupt or incomplete backup is refused
// naming the file, with the target untouched. Both are audited.
// Thread safety: see workspace.h.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "store/workspace.h"

namespace enclave::store {

inline constexpr const char* kBackupManifest = "manifest.json";

struct BackupReport {
  std::filesystem::path dir;  // absolute
  std::int64_t n_databases = 0;
  std::int64_t n_objects = 0;
  std::int64_t n_other_files = 0;  // run logs, audit.head, ...
  std::uint64_t bytes = 0;         // all files together
  std::int64_t audit_seq = 0;      // the newest audit entry in the snapshot
  std::string manifest_sha256;
};

// Backs the workspace up into dir, which must not exist or be an empty
// folder (Error(kInvalidInput) otherwise, or if it lies inside .enclave).
// Appends a "backup" audit entry to the workspace once the manifest is
// written. Throws Error(kIo) on a failed copy; a failed backup leaves no
// manifest.
BackupReport backup_workspace(Workspace& workspace, const std::filesystem::path& dir);

struct RestoreOptions {
  std::filesystem::path backup;  // a folder written by backup_workspace
  std::filesystem::path target;  // the workspace root to restore into (created if missing)
  bool force = false;            // replace an existing non-empty target/.enclave
};

struct RestoreReport {
  std::filesystem::path root;  // absolute
  std::filesystem::path backup;
  std::int64_t n_files = 0;
  std::uint64_t bytes = 0;
  bool replaced = false;  // an existing .enclave was replaced (--force)
  std::int64_t n_runs_interrupted = 0;
  std::string source;  // the workspace the backup was taken from
  std::string manifest_sha256;
};

// Restores options.backup into options.target/.enclave. Throws
// Error(kNotFound) for a missing backup or manifest, Error(kInvalidInput) for
// a malformed manifest, a file that does not match it (named, with its
// expected and actual size or sha256) or a non-empty target without force,
// Error(kIo) on copy failures. Nothing in the target changes on failure.
RestoreReport restore_workspace(const RestoreOptions& options);

nlohmann::json backup_report_json(const BackupReport& report);
std::string format_backup_report(const BackupReport& report);
nlohmann::json restore_report_json(const RestoreReport& report);
std::string format_restore_report(const RestoreReport& report);

}  // namespace enclave::store
