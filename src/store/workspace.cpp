#include "store/workspace.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/error.h"
#include "store/audit.h"
#include "store/hash_ledger.h"
#include "store/plaintext_cache.h"
#include "store/runs.h"
#include "store/schema.h"
#include "store/users.h"
#include "store/workspace_key.h"

namespace enclave::store {
namespace {

constexpr const char* kSubdirs[] = {"objects",   "objects/sha256", "tmp",
                                    "checkouts", "logs",           "quarantine"};

// SQLite's WAL needs shared memory and POSIX locks that network filesystems
// do not provide reliably (sqlite.org/wal.html): refuse instead of corrupting.
void refuse_network_fs(const std::filesystem::path& dir) {
  struct statfs fs {};
  if (::statfs(dir.c_str(), &fs) != 0) return;
  const char* name = nullptr;
  switch (static_cast<unsigned long>(fs.f_type)) {
    case 0x6969:
      name = "NFS";
      break;
    case 0x517B:
      name = "SMB";
      break;
    case 0xFF534D42:
      name = "CIFS";
      break;
    case 0xFE534D42:
      name = "SMB2";
      break;
    case 0x5346414F:
      name = "AFS";
      break;
    case 0x73757245:
      name = "Coda";
      break;
    default:
      return;
  }
  fail(ErrorKind::kUnsupported,
       "{}: workspace is on a network filesystem ({}); SQLite WAL mode needs a local disk",
       dir.string(), name);
}

bool is_workspace(const std::filesystem::path& root) {
  struct stat st {};
  return ::lstat((root / kDotDir / "enclave.db").c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::filesystem::path absolute_clean(const std::filesystem::path& p) {
  return std::filesystem::absolute(p).lexically_normal();
}

// A workspace is private to its owner unless its .enclave folder is shared
// with a group: it carries the setgid bit (`chmod 2770 .enclave`, the usual
// mark of a folder a group shares) or the group may write it. Then the
// group keeps read and write access.
bool is_group_shared(const std::filesystem::path& dot) {
  struct stat st {};
  return ::lstat(dot.c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
         (st.st_mode & (S_ISGID | S_IWGRP)) != 0;
}

// Everything this process creates from here on (folders, objects, SQLite
// databases with their -wal and -shm files, the request log, temp files) is
// owner-only, or owner and group in a shared workspace: prompts, training
// data and models must not be readable by every account on the machine.
// The umask is process-wide, which is what is wanted: each command works on
// one workspace. An existing private workspace's .enclave folder is closed
// too (files in a folder others cannot enter are out of their reach).
void restrict_modes(const std::filesystem::path& dot) {
  const bool shared = is_group_shared(dot);
  ::umask(shared ? 0007 : 0077);
  struct stat st {};
  if (!shared && ::lstat(dot.c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
      st.st_uid == ::geteuid() && (st.st_mode & 0077) != 0) {
    ::chmod(dot.c_str(), st.st_mode & 07700);  // best effort: the umask covers new files
  }
}

// An explicit location may name the root or its .enclave folder.
std::filesystem::path explicit_root(const std::filesystem::path& given, std::string_view source) {
  std::filesystem::path p = absolute_clean(given);
  if (p.filename().empty()) p = p.parent_path();
  if (p.filename() == kDotDir && is_workspace(p.parent_path())) p = p.parent_path();
  if (is_workspace(p)) {
    restrict_modes(p / kDotDir);
    check_command_access(p);
    return p;
  }
  fail(ErrorKind::kNotFound,
       "{} ({}): not an Enclave workspace (no {}/enclave.db); run `enclave init {}`", p.string(),
       source, kDotDir, given.string());
}

// The database path, once the folder is known to be on a local disk.
std::filesystem::path checked_db_path(const std::filesystem::path& root) {
  refuse_network_fs(root);
  return root / kDotDir / "enclave.db";
}

}  // namespace

void ensure_real_dir(const std::filesystem::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode))
      fail_input("{}: is a symbolic link; refusing to use it", path.string());
    if (!S_ISDIR(st.st_mode)) fail_input("{}: exists and is not a folder", path.string());
    return;
  }
  // The umask (restrict_modes) leaves 0700, or 0770 in a group's workspace.
  if (::mkdir(path.c_str(), 0770) != 0 && errno != EEXIST) {
    fail(ErrorKind::kIo, "{}: cannot create folder: {}", path.string(), std::strerror(errno));
  }
}

InitResult init_workspace(const std::filesystem::path& dir, const InitOptions& options) {
  InitResult result;
  result.root = absolute_clean(dir);
  if (result.root.filename().empty()) result.root = result.root.parent_path();
  std::error_code ec;
  if (std::filesystem::exists(result.root, ec) && !std::filesystem::is_directory(result.root, ec)) {
    fail_input("{}: exists and is not a folder", result.root.string());
  }
  std::filesystem::create_directories(result.root, ec);
  if (ec) fail(ErrorKind::kIo, "{}: cannot create folder: {}", result.root.string(), ec.message());
  refuse_network_fs(result.root);
  result.created = !is_workspace(result.root);
  if (!result.created) check_command_access(result.root);
  std::filesystem::path dot = result.root / kDotDir;
  ensure_real_dir(dot);
  restrict_modes(dot);
  for (const char* sub : kSubdirs) ensure_real_dir(dot / sub);
  fsync_dir(result.root);
  if (options.encrypt && !workspace_encrypted(dot)) {
    if (!result.created) {
      fail_input(
          "{}: already a workspace without encryption; encryption is chosen when a "
          "workspace is made (make a new one and register its models and data there)",
          result.root.string());
    }
    const std::optional<WorkspaceKey>& key = configured_workspace_key();
    if (!key) {
      fail_input(
          "init --encrypt: name the key file with --key-file FILE or ${} (make one with "
          "`enclave store keygen --out FILE`, outside the workspace)",
          kWorkspaceKeyEnv);
    }
    check_outside(key->file, result.root, "workspace key");
    // Before the database exists, so it is never written in the clear.
    write_encryption_record(dot, *key);
  }
  result.encrypted = workspace_encrypted(dot);
  {
    DbOptions options;
    options.create = true;
    Db db(dot / "enclave.db", options);
    migrate(db);
    result.schema_version = schema_version(db);
    if (result.created) {
      WriteTransaction tx(db);
      append_audit(db, "init", result.root.string(), {{"schema_version", result.schema_version}});
      tx.commit();
    }
  }
  return result;
}

std::filesystem::path find_workspace(const FindOptions& options) {
  if (!options.workspace.empty()) return explicit_root(options.workspace, "--workspace");
  if (options.use_env) {
    const char* home = std::getenv("ENCLAVE_HOME");
    if (home != nullptr && *home != '\0') return explicit_root(home, "ENCLAVE_HOME");
  }
  std::filesystem::path start =
      options.start.empty() ? std::filesystem::current_path() : absolute_clean(options.start);
  for (std::filesystem::path p = start;; p = p.parent_path()) {
    if (is_workspace(p)) {
      restrict_modes(p / kDotDir);
      check_command_access(p);
      return p;
    }
    if (p == p.parent_path()) break;
  }
  fail(ErrorKind::kNotFound,
       "no Enclave workspace in {} or any parent folder; run `enclave init`, or pass "
       "--workspace DIR or set ENCLAVE_HOME",
       start.string());
}

Workspace::Workspace(const std::filesystem::path& root, DbOptions db_options)
    : root_(explicit_root(root, "workspace")),
      db_(checked_db_path(root_), db_options),
      objects_(root_ / kDotDir) {
  ensure_real_dir(dot_dir());
  for (const char* sub : kSubdirs) ensure_real_dir(dot_dir() / sub);
  if (std::optional<WorkspaceKey> key = workspace_key_for(dot_dir())) {
    objects_.set_key(key->blob_key());
    remove_abandoned_plaintext(tmp_dir());
  }
  migrate(db_);
  fail_dead_runs(db_);
  config_ = load_workspace_config(dot_dir());
}

Workspace::~Workspace() {
  // What this process hashed and verified, for the next one (hash_ledger.h).
  // A failure here costs only a re-hash later.
  try {
    save_hash_ledger(db_, objects_);
  } catch (const std::exception&) {
  }
}

std::filesystem::path Workspace::checkout_root() const {
  return encrypted() ? plaintext_cache_dir(tmp_dir()) : checkouts_dir();
}

std::unique_ptr<Workspace> Workspace::open(const FindOptions& options) {
  return std::make_unique<Workspace>(find_workspace(options));
}

StoreLock::StoreLock(const Workspace& workspace, Mode mode, std::chrono::milliseconds timeout) {
  std::filesystem::path path = workspace.gc_lock_path();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);  // less the umask
  if (fd_ < 0)
    fail(ErrorKind::kIo, "{}: cannot open lock file: {}", path.string(), std::strerror(errno));
  int op = (mode == Mode::kShared ? LOCK_SH : LOCK_EX) | LOCK_NB;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (::flock(fd_, op) != 0) {
    if ((errno != EWOULDBLOCK && errno != EINTR) || std::chrono::steady_clock::now() >= deadline) {
      int err = errno;
      ::close(fd_);
      fd_ = -1;
      fail(ErrorKind::kIo, "{}: cannot take the store lock ({}): {}", path.string(),
           mode == Mode::kShared ? "shared" : "exclusive",
           err == EWOULDBLOCK ? "another process holds it (gc or a store write in progress)"
                              : std::strerror(err));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

StoreLock::~StoreLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace enclave::store
