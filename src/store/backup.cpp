#include "store/backup.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/file.h"
#include "core/hash.h"
#include "store/artifacts.h"
#include "store/audit.h"
#include "store/clock.h"
#include "store/db_maintenance.h"
#include "store/names.h"
#include "store/schema.h"
#include "store/workspace_key.h"

namespace enclave::store {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFormat = "enclave-backup";
constexpr int kFormatVersion = 1;

// Folders under .enclave that a backup leaves out: rebuilt on demand
// (checkouts), in flight (tmp) or set aside (quarantine). objects/ is copied
// from the database snapshot, not by listing.
const std::set<std::string> kSkippedDirs = {"objects", "tmp", "checkouts", "quarantine", "rekey"};

struct FileEntry {
  std::string path;  // relative, '/'-separated
  std::uint64_t size = 0;
  std::string sha256;
};

// Copies src to dst (created, must not exist) while hashing; dst is synced.
// With missing_ok, a src that is gone (removed since it was listed) yields
// nullopt.
std::optional<FileEntry> copy_hashing(const fs::path& src, const fs::path& dst,
                                      const std::string& rel, mode_t mode,
                                      bool missing_ok = false) {
  int in = ::open(src.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0 && errno == ENOENT && missing_ok) return std::nullopt;
  if (in < 0) fail(ErrorKind::kIo, "{}: cannot open: {}", src.string(), std::strerror(errno));
  int out = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0) {
    int err = errno;
    ::close(in);
    fail(ErrorKind::kIo, "{}: cannot create: {}", dst.string(), std::strerror(err));
  }
  FileEntry entry{rel, 0, ""};
  Sha256 hash;
  std::vector<char> buffer(1 << 20);
  try {
    for (;;) {
      ssize_t n = ::read(in, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail(ErrorKind::kIo, "{}: read failed: {}", src.string(), std::strerror(errno));
      if (n == 0) break;
      hash.update(buffer.data(), static_cast<std::size_t>(n));
      write_all(out, buffer.data(), static_cast<std::size_t>(n), dst);
      entry.size += static_cast<std::uint64_t>(n);
    }
    if (::fsync(out) != 0)
      fail(ErrorKind::kIo, "{}: cannot sync: {}", dst.string(), std::strerror(errno));
    if (::fchmod(out, mode) != 0)
      fail(ErrorKind::kIo, "{}: cannot set mode: {}", dst.string(), std::strerror(errno));
  } catch (...) {
    ::close(in);
    ::close(out);
    throw;
  }
  ::close(in);
  ::close(out);
  entry.sha256 = hash.finish_hex();
  return entry;
}

void make_dirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(ErrorKind::kIo, "{}: cannot create folder: {}", dir.string(), ec.message());
}

bool is_database(const fs::path& p) { return p.extension() == ".db"; }

// SQLite's side files, lock files and the temp files of atomic writes in
// flight (core/file.h): meaningless outside the live store.
bool is_transient(const fs::path& p) {
  const std::string name = p.filename().string();
  for (std::string_view suffix : {"-wal", "-shm", "-journal", ".lock"}) {
    if (name.ends_with(suffix)) return true;
  }
  return name.find(".tmp-") != std::string::npos;
}

// Regular files under dot (relative paths), leaving out kSkippedDirs at the
// top and symlinks anywhere.
std::vector<std::string> workspace_files(const fs::path& dot) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(dot, fs::directory_options::none, ec), end;
  if (ec) fail(ErrorKind::kIo, "{}: cannot list: {}", dot.string(), ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) fail(ErrorKind::kIo, "{}: cannot list: {}", dot.string(), ec.message());
    const fs::path rel = it->path().lexically_relative(dot);
    if (it.depth() == 0 && it->is_directory(ec) && !it->is_symlink(ec) &&
        kSkippedDirs.contains(rel.string())) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
    out.push_back(rel.generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The blobs a snapshot of enclave.db names: every recorded file's object and
// each live directory artifact's manifest.
std::vector<std::string> objects_named(Db& db) {
  std::vector<std::string> out;
  Statement q(db,
              "SELECT object FROM artifact_files UNION SELECT substr(digest, 8) FROM artifacts"
              " WHERE kind = 'dir' AND purged_at IS NULL ORDER BY 1");
  while (q.step()) out.push_back(q.text(0));
  return out;
}

std::string object_rel(const std::string& hex) {
  return fmt::format("objects/sha256/{}/{}", hex.substr(0, 2), hex);
}

nlohmann::json manifest_json(const std::vector<FileEntry>& files) {
  nlohmann::json out = nlohmann::json::array();
  for (const FileEntry& f : files)
    out.push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
  return out;
}

void remove_tree(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) fail(ErrorKind::kIo, "{}: cannot remove: {}", path.string(), ec.message());
}

// An exclusive flock on a workspace's gc.lock by path (StoreLock needs an
// open Workspace, and the store being replaced may not open), so no store
// write of the old workspace is half done while it is moved aside. Waits up
// to a minute.
class ReplaceLock {
 public:
  explicit ReplaceLock(const fs::path& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd_ < 0) return;  // no lock file: nobody uses it
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if ((errno != EWOULDBLOCK && errno != EINTR) ||
          std::chrono::steady_clock::now() >= deadline) {
        ::close(fd_);
        fail(ErrorKind::kIo,
             "{}: cannot take the store lock: another process is writing to the "
             "workspace being replaced; stop it and run restore again",
             path.string());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~ReplaceLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  ReplaceLock(const ReplaceLock&) = delete;
  ReplaceLock& operator=(const ReplaceLock&) = delete;

 private:
  int fd_ = -1;
};

std::string random_suffix() {
  std::random_device rd;
  return fmt::format("{}-{:08x}", ::getpid(), rd());
}

}  // namespace

BackupReport backup_workspace(Workspace& workspace, const fs::path& dir) {
  BackupReport report;
  report.dir = fs::absolute(dir).lexically_normal();
  if (report.dir.filename().empty()) report.dir = report.dir.parent_path();
  const fs::path dot = workspace.dot_dir();
  {
    const fs::path rel = report.dir.lexically_relative(dot);
    if (!rel.empty() && *rel.begin() != "..") {
      fail_input("{}: a backup cannot be written inside the workspace's {} folder",
                 report.dir.string(), kDotDir);
    }
  }
  std::error_code ec;
  if (fs::exists(fs::symlink_status(report.dir, ec))) {
    if (!fs::is_directory(fs::symlink_status(report.dir)))
      fail_input("{}: exists and is not a folder", report.dir.string());
    if (!fs::is_empty(report.dir, ec))
      fail_input("{}: not empty; back up into a new or empty folder", report.dir.string());
  }
  make_dirs(report.dir);
  ::chmod(report.dir.c_str(), 0700);

  // gc and purge wait; writers go on (they take it shared too).
  StoreLock lock(workspace, StoreLock::Mode::kShared);
  std::vector<FileEntry> files;
  std::vector<std::string> rels = workspace_files(dot);
  // The head file before the databases: it may lag their snapshot, which
  // audit verify accepts, but never runs ahead of it.
  if (std::find(rels.begin(), rels.end(), "audit.head") != rels.end()) {
    if (auto head = copy_hashing(dot / "audit.head", report.dir / "audit.head", "audit.head", 0600,
                                 /*missing_ok=*/true)) {
      files.push_back(*head);
      ++report.n_other_files;
    }
  }
  // enclave.db first: the blobs to copy come from its snapshot.
  std::vector<std::string> databases = {"enclave.db"};
  for (const std::string& rel : rels) {
    if (is_database(rel) && rel != "enclave.db") databases.push_back(rel);
  }
  std::vector<std::string> objects;
  // SQLCipher copies pages only between databases under the same key: an
  // encrypted workspace's copies are encrypted as its own are.
  std::optional<std::string> key;
  if (auto wk = workspace_key_for(dot)) key = wk->database_key();
  for (const std::string& rel : databases) {
    const fs::path dest = report.dir / rel;
    make_dirs(dest.parent_path());
    {
      Db to(dest, DbOptions{.create = true, .key = key});
      if (rel == "enclave.db") {
        backup_database(workspace.db(), to);
      } else {
        Db from(dot / rel);
        backup_database(from, to);
      }
      checkpoint_truncate(to);
      if (rel == "enclave.db") {
        objects = objects_named(to);
        Statement head(to, "SELECT COALESCE(MAX(seq), 0) FROM audit_log");
        head.step();
        report.audit_seq = head.int64(0);
      }
    }
    // The copy's connection is closed: its -wal and -shm files are gone.
    for (std::string_view side : {"-wal", "-shm"})
      fs::remove(dest.string() + std::string(side), ec);
    FileEntry entry{rel, fs::file_size(dest), sha256_file_hex(dest)};
    files.push_back(entry);
    ++report.n_databases;
  }
  for (const std::string& hex : objects) {
    const std::string rel = object_rel(hex);
    make_dirs((report.dir / rel).parent_path());
    files.push_back(*copy_hashing(workspace.objects().path_of(hex), report.dir / rel, rel, 0444));
    ++report.n_objects;
  }
  for (const std::string& rel : rels) {
    if (is_database(rel) || is_transient(rel) || rel == "audit.head") continue;
    make_dirs((report.dir / rel).parent_path());
    // A file removed since the listing (a finished run's temp) is not part of it.
    if (auto entry = copy_hashing(dot / rel, report.dir / rel, rel, 0600, /*missing_ok=*/true)) {
      files.push_back(*entry);
      ++report.n_other_files;
    }
  }
  for (const FileEntry& f : files) report.bytes += f.size;

  nlohmann::json manifest = {{"format", kFormat},
                             {"format_version", kFormatVersion},
                             {"created_at", format_time(now_unix())},
                             {"source", workspace.root().string()},
                             {"schema_version", schema_version(workspace.db())},
                             {"audit_seq", report.audit_seq},
                             {"files", manifest_json(files)}};
  const std::string text = manifest.dump(2) + "\n";
  report.manifest_sha256 = sha256_hex(text);
  // Last: a folder with a manifest is a finished backup.
  write_file_atomic(report.dir / kBackupManifest, text);

  WriteTransaction tx(workspace.db());
  append_audit(workspace.db(), "backup", report.dir.string(),
               {{"files", files.size()},
                {"bytes", report.bytes},
                {"audit_seq", report.audit_seq},
                {"manifest_sha256", report.manifest_sha256}});
  tx.commit();
  return report;
}

namespace {

// The manifest's files, checked: known format, relative paths inside the
// backup, no duplicates, enclave.db present.
std::vector<FileEntry> read_manifest(const fs::path& backup, std::string& text,
                                     std::string& source) {
  const fs::path path = backup / kBackupManifest;
  std::error_code ec;
  if (!fs::is_directory(backup, ec))
    fail(ErrorKind::kNotFound, "{}: no such folder", backup.string());
  if (!fs::exists(path, ec)) {
    fail(ErrorKind::kNotFound, "{}: missing (not a backup, or the backup did not finish)",
         path.string());
  }
  text = read_file(path, std::uint64_t{1} << 30);
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) fail_input("{}: not a JSON object", path.string());
  if (j.value("format", "") != kFormat)
    fail_input("{}: field 'format': expected \"{}\"", path.string(), kFormat);
  if (!j.contains("format_version") || !j["format_version"].is_number_integer() ||
      j["format_version"].get<int>() != kFormatVersion) {
    fail_input("{}: field 'format_version': expected {} (written by another version of enclave?)",
               path.string(), kFormatVersion);
  }
  source = j.value("source", "");
  if (!j.contains("files") || !j["files"].is_array())
    fail_input("{}: field 'files': expected an array", path.string());
  std::vector<FileEntry> out;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < j["files"].size(); ++i) {
    const nlohmann::json& f = j["files"][i];
    const std::string where = fmt::format("{}: files[{}]", path.string(), i);
    if (!f.is_object() || !f.contains("path") || !f["path"].is_string() || !f.contains("size") ||
        !f["size"].is_number_unsigned() || !f.contains("sha256") || !f["sha256"].is_string()) {
      fail_input("{}: expected {{path, size, sha256}}", where);
    }
    FileEntry e{f["path"].get<std::string>(), f["size"].get<std::uint64_t>(),
                f["sha256"].get<std::string>()};
    validate_relative_path(e.path, where);
    if (e.path == kBackupManifest) fail_input("{}: lists the manifest itself", where);
    if (!seen.insert(e.path).second) fail_input("{}: '{}' listed twice", where, e.path);
    if (e.sha256.size() != 64 ||
        e.sha256.find_first_not_of("0123456789abcdef") != std::string::npos)
      fail_input("{}: sha256 '{}' is not 64 lowercase hex digits", where, printable(e.sha256));
    out.push_back(std::move(e));
  }
  if (!seen.contains("enclave.db")) fail_input("{}: does not list enclave.db", path.string());
  return out;
}

}  // namespace

RestoreReport restore_workspace(const RestoreOptions& options) {
  RestoreReport report;
  report.backup = fs::absolute(options.backup).lexically_normal();
  report.root = fs::absolute(options.target).lexically_normal();
  if (report.root.filename().empty()) report.root = report.root.parent_path();
  std::string manifest_text;
  const std::vector<FileEntry> files = read_manifest(report.backup, manifest_text, report.source);
  report.manifest_sha256 = sha256_hex(manifest_text);

  std::error_code ec;
  const fs::path dot = report.root / kDotDir;
  const bool target_exists = fs::exists(fs::symlink_status(dot, ec));
  if (target_exists) {
    if (fs::is_symlink(fs::symlink_status(dot)) || !fs::is_directory(dot))
      fail_input("{}: exists and is not a folder", dot.string());
    if (!fs::is_empty(dot, ec) && !options.force) {
      fail_input("{}: not empty (a workspace is there); pass --force to replace it", dot.string());
    }
  }
  make_dirs(report.root);

  // Everything is copied and checked in a temp folder beside the target, so
  // the final rename stays on one filesystem and a bad backup changes nothing.
  const fs::path staging = report.root / fmt::format(".enclave-restore-{}", random_suffix());
  if (::mkdir(staging.c_str(), 0700) != 0)
    fail(ErrorKind::kIo, "{}: cannot create folder: {}", staging.string(), std::strerror(errno));
  try {
    const fs::path staged_dot = staging / kDotDir;
    if (::mkdir(staged_dot.c_str(), 0700) != 0)
      fail(ErrorKind::kIo, "{}: cannot create folder: {}", staged_dot.string(),
           std::strerror(errno));
    for (const FileEntry& f : files) {
      const fs::path src = report.backup / f.path;
      struct stat st {};
      if (::lstat(src.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        fail_input("backup {}: {}: listed in the manifest but missing (or not a regular file)",
                   report.backup.string(), f.path);
      }
      make_dirs((staged_dot / f.path).parent_path());
      const bool is_object = f.path.starts_with("objects/");
      const FileEntry got =
          *copy_hashing(src, staged_dot / f.path, f.path, is_object ? 0444 : 0600);
      if (got.size != f.size) {
        fail_input("backup {}: {}: {} bytes, the manifest says {} (corrupt or truncated)",
                   report.backup.string(), f.path, got.size, f.size);
      }
      if (got.sha256 != f.sha256) {
        fail_input("backup {}: {}: sha256 {} does not match the manifest's {} (corrupt)",
                   report.backup.string(), f.path, got.sha256, f.sha256);
      }
      ++report.n_files;
      report.bytes += got.size;
    }
    {
      Workspace restored(staging);
      Db& db = restored.db();
      WriteTransaction tx(db);
      Statement interrupted(db,
                            "UPDATE runs SET status = 'failed', ended_at = ?1, message = ?2"
                            " WHERE status = 'running'");
      interrupted.bind(1, now_unix())
          .bind(2, "was running when the backup was taken; restored without its process")
          .run();
      report.n_runs_interrupted = db.changes();
      append_audit(db, "restore", report.root.string(),
                   {{"backup", report.backup.string()},
                    {"source", report.source},
                    {"files", report.n_files},
                    {"bytes", report.bytes},
                    {"runs_interrupted", report.n_runs_interrupted},
                    {"manifest_sha256", report.manifest_sha256}});
      tx.commit();
      checkpoint_truncate(db);
    }

    std::optional<fs::path> old;
    std::optional<ReplaceLock> lock;
    if (target_exists) {
      lock.emplace(dot / "gc.lock");
      old = report.root / fmt::format(".enclave-replaced-{}", random_suffix());
      if (::rename(dot.c_str(), old->c_str()) != 0) {
        fail(ErrorKind::kIo, "{}: cannot move aside: {}", dot.string(), std::strerror(errno));
      }
      report.replaced = true;
    }
    if (::rename(staged_dot.c_str(), dot.c_str()) != 0) {
      const int err = errno;
      if (old) ::rename(old->c_str(), dot.c_str());
      fail(ErrorKind::kIo, "{}: cannot move the restored store into place: {}", dot.string(),
           std::strerror(err));
    }
    fsync_dir(report.root);
    lock.reset();
    if (old) remove_tree(*old);
    remove_tree(staging);
  } catch (...) {
    fs::remove_all(staging, ec);
    throw;
  }
  return report;
}

nlohmann::json backup_report_json(const BackupReport& r) {
  return {{"dir", r.dir.string()},
          {"databases", r.n_databases},
          {"objects", r.n_objects},
          {"other_files", r.n_other_files},
          {"bytes", r.bytes},
          {"audit_seq", r.audit_seq},
          {"manifest_sha256", r.manifest_sha256}};
}

std::string format_backup_report(const BackupReport& r) {
  return fmt::format(
      "backed up to {}: {} database(s), {} object(s), {} other file(s), {}; audit log at entry "
      "{}\nmanifest {} sha256 {}\n",
      r.dir.string(), r.n_databases, r.n_objects, r.n_other_files, format_bytes(r.bytes),
      r.audit_seq, kBackupManifest, r.manifest_sha256);
}

nlohmann::json restore_report_json(const RestoreReport& r) {
  return {{"root", r.root.string()},
          {"backup", r.backup.string()},
          {"source", r.source},
          {"files", r.n_files},
          {"bytes", r.bytes},
          {"replaced", r.replaced},
          {"runs_interrupted", r.n_runs_interrupted},
          {"manifest_sha256", r.manifest_sha256}};
}

std::string format_restore_report(const RestoreReport& r) {
  std::string out =
      fmt::format("restored {} from {}: {} file(s), {}, every hash checked{}\n", r.root.string(),
                  r.backup.string(), r.n_files, format_bytes(r.bytes),
                  r.replaced ? "; the previous store was replaced" : "");
  if (r.n_runs_interrupted > 0) {
    out += fmt::format("{} run(s) that were running at backup time are marked failed\n",
                       r.n_runs_interrupted);
  }
  return out;
}

}  // namespace enclave::store
