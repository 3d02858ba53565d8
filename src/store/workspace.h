// Workspace: a folder holding `.enclave/`, the store of one team or project:
//
//   .enclave/enclave.db    SQLite metadata (WAL): runs, artifacts, registry, audit
//   .enclave/objects/      content-addressed blobs, sha256/<2 hex>/<64 hex>, read-only
//   .enclave/tmp/          temp files being written (gc removes abandoned ones)
//   .enclave/checkouts/    stored directories materialised as hard links to objects
//   .enclave/logs/         run logs
//   .enclave/quarantine/   objects whose bytes no longer match their hash
//   .enclave/gc.lock       writers hold it shared, gc exclusive
//   .enclave/encryption.json  only in an encrypted workspace (store/workspace_key.h)
//
// Commands find it from --workspace, else $ENCLAVE_HOME, else by walking up
// from the current directory, as git finds `.git`. Opening a workspace
// migrates an older schema and marks runs whose process died as failed.
// Thread safety: one Workspace (its Db) is used by one thread at a time; open
// another Workspace for another thread or process.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "store/db.h"
#include "store/object_store.h"
#include "store/workspace_config.h"

namespace enclave::store {

inline constexpr const char* kDotDir = ".enclave";

struct InitResult {
  std::filesystem::path root;  // absolute
  bool created = false;        // false: it was already a workspace (then only migrated)
  int schema_version = 0;
  bool encrypted = false;  // .enclave/encryption.json is there (store/workspace_key.h)
};

struct InitOptions {
  // Encrypt the new workspace under the configured key
  // (configured_workspace_key in store/workspace_key.h).
  bool encrypt = false;
};

// Creates dir (and parents) and dir/.enclave with an empty store. Idempotent.
// With options.encrypt, the new workspace is encrypted (no key configured,
// a key inside the workspace, or an existing plaintext workspace throw
// Error(kInvalidInput)).
// Throws Error(kInvalidInput) if .enclave or one of its folders is a symlink
// or not a folder, Error(kUnsupported) on a network filesystem (SQLite's WAL
// needs shared memory that NFS/SMB do not give), Error(kIo) on failures.
InitResult init_workspace(const std::filesystem::path& dir, const InitOptions& options = {});

struct FindOptions {
  std::string workspace;        // --workspace: used as is when non-empty
  bool use_env = true;          // consult $ENCLAVE_HOME when workspace is empty
  std::filesystem::path start;  // where to walk up from; empty: current directory
};

// The workspace root (absolute, the folder that holds .enclave). An explicit
// path may name the root or its .enclave folder. Throws Error(kNotFound) with
// how to create one.
std::filesystem::path find_workspace(const FindOptions& options = {});

class Workspace {
 public:
  // Opens the workspace at root (see find_workspace). Throws like
  // init_workspace, and Error(kNotFound) if root is not a workspace.
  explicit Workspace(const std::filesystem::path& root, DbOptions db_options = {});
  // Saves what this process hashed (store/hash_ledger.h), ignoring failures.
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  // find_workspace(options) then open.
  static std::unique_ptr<Workspace> open(const FindOptions& options = {});

  Db& db() { return db_; }
  ObjectStore& objects() { return objects_; }
  // .enclave/config.json as it was when the workspace was opened.
  const WorkspaceConfig& config() const { return config_; }

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path dot_dir() const { return root_ / kDotDir; }
  std::filesystem::path db_path() const { return dot_dir() / "enclave.db"; }
  std::filesystem::path tmp_dir() const { return dot_dir() / "tmp"; }
  std::filesystem::path checkouts_dir() const { return dot_dir() / "checkouts"; }
  // Where checkouts are made: checkouts/ in a plaintext workspace; in an
  // encrypted one, this process's private plaintext cache
  // (store/plaintext_cache.h), so nothing decrypted stays under .enclave.
  std::filesystem::path checkout_root() const;
  bool encrypted() const { return objects_.sealed(); }
  std::filesystem::path logs_dir() const { return dot_dir() / "logs"; }
  std::filesystem::path gc_lock_path() const { return dot_dir() / "gc.lock"; }

 private:
  std::filesystem::path root_;
  Db db_;
  ObjectStore objects_;
  WorkspaceConfig config_;
};

// A shared or exclusive flock on .enclave/gc.lock. Anything that writes
// objects and then commits rows naming them holds it shared for the whole
// span; gc holds it exclusive, so it never deletes an object that a writer
// has stored but not yet committed. The kernel drops the lock of a killed
// process. Waits up to `timeout` for the lock, then throws Error(kIo).
class StoreLock {
 public:
  enum class Mode { kShared, kExclusive };
  StoreLock(const Workspace& workspace, Mode mode,
            std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));
  ~StoreLock();
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

 private:
  int fd_ = -1;
};

// Throws Error(kInvalidInput) if path exists and is a symlink or not a
// directory; creates it (mode 0700, less the umask) if missing.
void ensure_real_dir(const std::filesystem::path& path);

}  // namespace enclave::store
