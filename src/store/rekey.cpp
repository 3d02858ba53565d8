#include "store/rekey.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/file.h"
#include "store/audit.h"
#include "store/db.h"
#include "store/object_store.h"
#include "store/workspace.h"
#include "store/workspace_key.h"

namespace enclave::store {
namespace {

namespace fs = std::filesystem;

constexpr const char* kStagingDir = "rekey";
constexpr const char* kCommitFile = "COMMIT";
// Every SQLite database a workspace keeps, relative to .enclave.
const char* const kDatabases[] = {"enclave.db", "serve/requests.db"};

void move_into_place(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    fail(ErrorKind::kIo, "{}: cannot move into place ({}): {}; run any command again to finish",
         to.string(), from.string(), std::strerror(errno));
  }
}

}  // namespace

void finish_interrupted_rekey(const fs::path& dot_dir) {
  const fs::path staging = dot_dir / kStagingDir;
  struct stat st {};
  if (::lstat((staging / kCommitFile).c_str(), &st) != 0) return;
  std::error_code ec;
  // Blobs first: each rename replaces one old blob whole.
  const fs::path objects = staging / "objects";
  std::vector<fs::path> blobs;
  for (fs::recursive_directory_iterator it(objects, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file() && !it->path().filename().string().starts_with(".")) {
      blobs.push_back(it->path());
    }
  }
  for (const fs::path& blob : blobs) {
    const fs::path to = dot_dir / blob.lexically_relative(staging);
    fs::create_directories(to.parent_path(), ec);
    move_into_place(blob, to);
  }
  fsync_dir(dot_dir / "objects");
  for (const char* name : kDatabases) {
    const fs::path from = staging / name;
    if (::lstat(from.c_str(), &st) != 0) continue;
    const fs::path to = dot_dir / name;
    // The old database's WAL belongs to the old file; the new copy has its
    // own journal.
    ::unlink((to.string() + "-wal").c_str());
    ::unlink((to.string() + "-shm").c_str());
    move_into_place(from, to);
    fsync_dir(to.parent_path());
  }
  // Last: from here on the new key is the one checked.
  if (::lstat((staging / kEncryptionFile).c_str(), &st) == 0) {
    move_into_place(staging / kEncryptionFile, dot_dir / kEncryptionFile);
  }
  fsync_dir(dot_dir);
  fs::remove_all(staging, ec);
  if (ec) {
    fail(ErrorKind::kIo, "{}: rekey finished but its folder cannot be removed: {}",
         staging.string(), ec.message());
  }
}

RekeyResult rekey_workspace(const fs::path& root, const fs::path& new_key_file) {
  RekeyResult result;
  const WorkspaceKey new_key = read_workspace_key(new_key_file);
  check_outside(new_key.file, root, "new workspace key");
  fs::path dot;
  {
    Workspace workspace(root);
    dot = workspace.dot_dir();
    if (!workspace.encrypted()) {
      fail_input(
          "{}: the workspace is not encrypted; nothing to rekey (encryption is chosen by "
          "`enclave init --encrypt`)",
          workspace.root().string());
    }
    const std::optional<WorkspaceKey>& old_key = configured_workspace_key();
    ENCLAVE_CHECK(old_key.has_value());
    if (old_key->check_value() == new_key.check_value()) {
      fail_input("{}: the new key is the workspace's current key", new_key.file.string());
    }
    StoreLock lock(workspace, StoreLock::Mode::kExclusive);
    Db& db = workspace.db();
    {
      Statement running(db, "SELECT COUNT(*) FROM runs WHERE status = 'running'");
      running.step();
      if (running.int64(0) > 0) {
        fail_input(
            "{}: {} run(s) are running; rekey needs an idle workspace (stop them and "
            "`enclave serve` first)",
            workspace.root().string(), running.int64(0));
      }
    }
    const fs::path staging = dot / kStagingDir;
    std::error_code ec;
    fs::remove_all(staging, ec);  // a rekey interrupted before its COMMIT
    ensure_real_dir(staging);
    ensure_real_dir(staging / "serve");

    const BlobKey blob_key = new_key.blob_key();
    ObjectStore::Listing listing = workspace.objects().list();
    for (const std::string& hex : listing.objects) {
      const fs::path to = staging / workspace.objects().path_of(hex).lexically_relative(dot);
      workspace.objects().reseal_to(hex, blob_key, to);
      ++result.n_objects;
    }
    {
      WriteTransaction tx(db);
      append_audit(db, "rekey", workspace.root().string(),
                   {{"objects", result.n_objects}, {"key_check", new_key.check_value()}});
      tx.commit();
    }
    const std::string db_key = new_key.database_key();
    for (const char* name : kDatabases) {
      const fs::path path = dot / name;
      if (!fs::exists(path, ec)) continue;
      if (path == workspace.db_path()) {
        db.rekey_to(staging / name, db_key);
      } else {
        Db other(path);
        other.rekey_to(staging / name, db_key);
      }
      ++result.n_databases;
    }
    write_encryption_record(staging, new_key);
    fsync_dir(staging / "serve");
    fsync_dir(staging);
    write_file_atomic(staging / kCommitFile, "enclave rekey 1\n");
  }  // the old databases are closed before their files are replaced
  finish_interrupted_rekey(dot);
  return result;
}

}  // namespace enclave::store
