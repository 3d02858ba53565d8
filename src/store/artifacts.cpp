#include "store/artifacts.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "core/error.h"
#include "core/hash.h"
#include "core/json.h"
#include "store/clock.h"
#include "store/hash_ledger.h"
#include "store/names.h"

namespace enclave::store {
namespace {

constexpr const char* kManifestFormat = "enclave.manifest";
constexpr int kManifestVersion = 1;

struct SourceFile {
  std::string rel;
  std::filesystem::path abs;
};

// Lists the files under root, refusing what cannot be stored faithfully.
std::vector<SourceFile> list_source_files(const std::filesystem::path& root) {
  std::vector<SourceFile> out;
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(root, ec), end;
  if (ec) fail(ErrorKind::kIo, "{}: cannot list: {}", root.string(), ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) fail(ErrorKind::kIo, "{}: cannot list: {}", root.string(), ec.message());
    const std::filesystem::path& p = it->path();
    std::string rel = p.lexically_relative(root).generic_string();
    validate_relative_path(rel, fmt::format("{}: file name", root.string()));
    struct stat lst {};
    if (::lstat(p.c_str(), &lst) != 0) {
      fail(ErrorKind::kIo, "{}: cannot stat: {}", p.string(), std::strerror(errno));
    }
    if (S_ISDIR(lst.st_mode)) {
      if (p.filename() == kDotDir) {
        fail_input("{}: holds an Enclave workspace folder ({}); register the model folder itself",
                   root.string(), rel);
      }
      continue;
    }
    if (S_ISLNK(lst.st_mode)) {
      struct stat st {};
      if (::stat(p.c_str(), &st) != 0) fail_input("{}: broken symbolic link", p.string());
      if (S_ISDIR(st.st_mode)) {
        fail_input("{}: symbolic link to a folder is not supported; copy the folder instead",
                   p.string());
      }
      if (!S_ISREG(st.st_mode))
        fail_input("{}: links to something that is not a regular file", p.string());
    } else if (!S_ISREG(lst.st_mode)) {
      fail_input("{}: not a regular file or folder (device, socket or pipe)", p.string());
    }
    out.push_back({rel, p});
  }
  std::sort(out.begin(), out.end(),
            [](const SourceFile& a, const SourceFile& b) { return a.rel < b.rel; });
  return out;
}

std::uint64_t total_size(const std::vector<SourceFile>& files) {
  std::uint64_t total = 0;
  for (const SourceFile& f : files) {
    struct stat st {};
    if (::stat(f.abs.c_str(), &st) == 0) total += static_cast<std::uint64_t>(st.st_size);
  }
  return total;
}

bool is_executable(const std::filesystem::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && (st.st_mode & S_IXUSR) != 0;
}

std::string random_name(std::string_view prefix) {
  std::random_device rd;
  return fmt::format("{}-{}-{:08x}{:08x}", prefix, ::getpid(), rd(), rd());
}

// Removes a tree whose files are read-only blobs' hard links.
void remove_tree(const std::filesystem::path& p) {
  std::error_code ec;
  std::filesystem::remove_all(p, ec);
  if (ec) fail(ErrorKind::kIo, "{}: cannot remove: {}", p.string(), ec.message());
}

// True if the checkout at dir holds exactly the artifact's files with the
// right bytes. With verify, a file is hashed unless it is its blob's own,
// unchanged, recently verified file (hash_ledger.h).
bool checkout_matches(Workspace& workspace, const std::filesystem::path& dir,
                      const Artifact& artifact, bool verify) {
  std::vector<std::string> found;
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(dir, ec), end;
  if (ec) return false;
  for (; it != end; it.increment(ec)) {
    if (ec) return false;
    if (it->is_symlink()) return false;
    if (it->is_directory()) continue;
    if (!it->is_regular_file()) return false;
    found.push_back(it->path().lexically_relative(dir).generic_string());
  }
  std::sort(found.begin(), found.end());
  if (found.size() != artifact.files.size()) return false;
  ObjectStore& objects = workspace.objects();
  for (std::size_t i = 0; i < found.size(); ++i) {
    const ArtifactFile& f = artifact.files[i];
    if (found[i] != f.path) return false;
    const std::filesystem::path p = dir / f.path;
    const std::optional<FileStamp> stamp = stamp_of(p);
    if (!stamp || stamp->size != f.size) return false;
    if (!verify || blob_trusted(workspace, f.object, stamp)) continue;
    // The blob's own file is hashed as the blob, so the ledger records it.
    const bool linked = objects.contains(f.object) && stamp_of(objects.path_of(f.object)) == stamp;
    if ((linked ? objects.rehash(f.object) : objects.hash_file(p)) != f.object) return false;
  }
  return true;
}

// Puts a verified copy of a blob at dest: a hard link when the filesystem
// allows, else a copy whose bytes are hashed as they are written.
void place_blob(ObjectStore& objects, const ArtifactFile& f, const std::filesystem::path& dest) {
  if (!objects.contains(f.object)) {
    std::filesystem::path moved = objects.find_quarantined(f.object);
    if (!moved.empty()) {
      fail(ErrorKind::kIo,
           "file '{}': its stored object {} was found corrupt and moved to {}; register the same "
           "content again to restore it",
           f.path, f.object, moved.string());
    }
    fail(ErrorKind::kNotFound, "file '{}': stored object {} is missing; run `enclave store verify`",
         f.path, f.object);
  }
  // A sealed blob is decrypted into the (private) checkout, never linked.
  if (!objects.sealed()) {
    objects.check(f.object);
    std::filesystem::path src = objects.path_of(f.object);
    if (::link(src.c_str(), dest.c_str()) == 0) return;
  }
  objects.copy_verified(f.object, dest);
}

// A read saves what it verified for later processes; a database that cannot
// be written (busy, read-only) only costs a re-hash next time.
void save_ledger_quietly(Workspace& workspace) {
  if (workspace.db().in_transaction()) return;  // kept for a later save
  try {
    save_hash_ledger(workspace.db(), workspace.objects());
  } catch (const Error&) {
  }
}

}  // namespace

std::string_view to_string(ArtifactKind kind) {
  return kind == ArtifactKind::kDir ? "dir" : "file";
}

std::string format_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000.0 && u < 4) {
    v /= 1000.0;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

std::string manifest_text(const std::vector<ArtifactFile>& files) {
  nlohmann::json list = nlohmann::json::array();
  for (const ArtifactFile& f : files) {
    list.push_back(
        {{"path", f.path}, {"sha256", f.object}, {"size", f.size}, {"executable", f.executable}});
  }
  nlohmann::json manifest = {
      {"format", kManifestFormat}, {"version", kManifestVersion}, {"files", list}};
  return manifest.dump();
}

std::vector<ArtifactFile> parse_manifest(std::string_view text, std::string_view what) {
  nlohmann::json m = parse_json(text, what);
  if (!m.is_object()) fail_input("{}: manifest is not a JSON object", what);
  if (json_string(m, "format", what) != kManifestFormat)
    fail_input("{}: field 'format': not an Enclave manifest", what);
  if (json_int(m, "version", what) != kManifestVersion) {
    fail(ErrorKind::kUnsupported, "{}: manifest version {} is not supported", what,
         m["version"].dump());
  }
  if (!m.contains("files") || !m["files"].is_array())
    fail_input("{}: field 'files': expected an array", what);
  std::vector<ArtifactFile> out;
  for (const auto& entry : m["files"]) {
    if (!entry.is_object()) fail_input("{}: field 'files': entries must be objects", what);
    ArtifactFile f;
    f.path = json_string(entry, "path", what);
    validate_relative_path(f.path, fmt::format("{}: file", what));
    f.object = json_string(entry, "sha256", what);
    parse_digest("sha256:" + f.object);
    std::int64_t size = json_int(entry, "size", what);
    if (size < 0) fail_input("{}: file '{}': negative size", what, f.path);
    f.size = static_cast<std::uint64_t>(size);
    f.executable = json_bool(entry, "executable", what, false);
    if (!out.empty() && !(out.back().path < f.path)) {
      fail_input("{}: files are not sorted by path or '{}' appears twice", what, f.path);
    }
    out.push_back(std::move(f));
  }
  return out;
}

Artifact stage_artifact(Workspace& workspace, const std::filesystem::path& src,
                        bool show_progress) {
  struct stat st {};
  if (::stat(src.c_str(), &st) != 0) {
    fail(errno == ENOENT ? ErrorKind::kNotFound : ErrorKind::kIo, "{}: cannot store: {}",
         src.string(), std::strerror(errno));
  }
  ObjectStore& objects = workspace.objects();
  Artifact a;
  a.created_at = now_unix();
  if (S_ISREG(st.st_mode)) {
    std::string name = src.filename().string();
    validate_relative_path(name, fmt::format("{}: file name", src.string()));
    Progress progress(
        {.label = "storing", .total = static_cast<std::uint64_t>(st.st_size), .unit = "bytes"},
        stderr, show_progress && ::isatty(STDERR_FILENO) == 1);
    ObjectStore::PutResult put = objects.put_file(src, &progress);
    progress.finish();
    a.kind = ArtifactKind::kFile;
    a.digest = make_digest(put.hex);
    a.size = put.size;
    a.n_files = 1;
    a.files.push_back({name, put.hex, put.size, (st.st_mode & S_IXUSR) != 0});
    return a;
  }
  if (!S_ISDIR(st.st_mode)) fail_input("{}: not a regular file or folder", src.string());
  std::vector<SourceFile> files = list_source_files(src);
  Progress progress({.label = "storing", .total = total_size(files), .unit = "bytes"}, stderr,
                    show_progress && ::isatty(STDERR_FILENO) == 1);
  a.kind = ArtifactKind::kDir;
  for (const SourceFile& f : files) {
    ObjectStore::PutResult put = objects.put_file(f.abs, &progress);
    a.files.push_back({f.rel, put.hex, put.size, is_executable(f.abs)});
    a.size += put.size;
  }
  progress.finish();
  a.n_files = static_cast<std::int64_t>(a.files.size());
  ObjectStore::PutResult manifest = objects.put_bytes(manifest_text(a.files));
  a.digest = make_digest(manifest.hex);
  return a;
}

void record_artifact(Db& db, ObjectStore& objects, const Artifact& artifact) {
  ENCLAVE_CHECK(db.in_transaction());
  std::string hex = parse_digest(artifact.digest);
  bool purged = false;
  {
    Statement exists(db, "SELECT purged_at IS NOT NULL FROM artifacts WHERE digest = ?1");
    exists.bind(1, artifact.digest);
    if (exists.step()) {
      if (exists.int64(0) == 0) return;
      purged = true;  // content reclaimed by gc, stored again now: restore its files
    }
  }
  // Write order: blobs first, rows last. A blob missing here was removed
  // behind our back; recording it would publish an artifact that cannot be read.
  auto require = [&](const std::string& object) {
    if (!objects.contains(object)) {
      fail(ErrorKind::kIo, "{}: blob {} vanished before it was recorded", artifact.digest, object);
    }
  };
  if (artifact.kind == ArtifactKind::kDir) require(hex);
  for (const ArtifactFile& f : artifact.files) require(f.object);
  if (purged) {
    Statement restore(db, "UPDATE artifacts SET purged_at = NULL WHERE digest = ?1");
    restore.bind(1, artifact.digest).run();
  } else {
    Statement insert(db,
                     "INSERT INTO artifacts (digest, kind, size, n_files, created_at)"
                     " VALUES (?1, ?2, ?3, ?4, ?5)");
    insert.bind(1, artifact.digest)
        .bind(2, to_string(artifact.kind))
        .bind(3, static_cast<std::int64_t>(artifact.size))
        .bind(4, artifact.n_files)
        .bind(5, artifact.created_at)
        .run();
  }
  Statement file(db,
                 "INSERT INTO artifact_files (artifact, path, object, size, executable)"
                 " VALUES (?1, ?2, ?3, ?4, ?5)");
  save_hash_ledger(db, objects);  // the blobs just stored were hashed: verified when stored
  for (const ArtifactFile& f : artifact.files) {
    file.reset();
    file.bind(1, artifact.digest)
        .bind(2, f.path)
        .bind(3, f.object)
        .bind(4, static_cast<std::int64_t>(f.size))
        .bind(5, f.executable ? 1 : 0)
        .run();
  }
}

Artifact store_artifact(Workspace& workspace, const std::filesystem::path& src,
                        bool show_progress) {
  StoreLock lock(workspace, StoreLock::Mode::kShared);
  Artifact a = stage_artifact(workspace, src, show_progress);
  WriteTransaction tx(workspace.db());
  record_artifact(workspace.db(), workspace.objects(), a);
  tx.commit();
  return a;
}

std::optional<Artifact> find_artifact(Db& db, std::string_view digest) {
  Statement q(
      db,
      "SELECT digest, kind, size, n_files, created_at, purged_at FROM artifacts WHERE digest = ?1");
  q.bind(1, digest);
  if (!q.step()) return std::nullopt;
  Artifact a;
  a.digest = q.text(0);
  a.kind = q.text(1) == "dir" ? ArtifactKind::kDir : ArtifactKind::kFile;
  a.size = static_cast<std::uint64_t>(q.int64(2));
  a.n_files = q.int64(3);
  a.created_at = q.real(4);
  a.purged = !q.is_null(5);
  Statement files(db,
                  "SELECT path, object, size, executable FROM artifact_files WHERE artifact = ?1"
                  " ORDER BY path");
  files.bind(1, digest);
  while (files.step()) {
    a.files.push_back({files.text(0), files.text(1), static_cast<std::uint64_t>(files.int64(2)),
                       files.int64(3) != 0});
  }
  return a;
}

std::filesystem::path checkout_artifact(Workspace& workspace, std::string_view digest,
                                        const CheckoutOptions& options) {
  std::string hex = parse_digest(digest);
  std::optional<Artifact> artifact = find_artifact(workspace.db(), digest);
  if (!artifact) fail(ErrorKind::kNotFound, "artifact {} is not in this workspace", digest);
  if (artifact->purged) {
    fail(ErrorKind::kNotFound,
         "artifact {}: its content was removed by `enclave store gc` after the versions "
         "naming it were deleted",
         digest);
  }
  // Paths come from the database; never trust them to stay inside the checkout.
  for (const ArtifactFile& f : artifact->files) validate_relative_path(f.path, digest);
  if (artifact->kind == ArtifactKind::kDir) {
    // The recorded file list must be the one the digest names, and the
    // manifest blob intact (read unless the ledger vouches for it).
    ObjectStore& objects = workspace.objects();
    if (!blob_trusted(workspace, hex, stamp_of(objects.path_of(hex)))) objects.read_verified(hex);
    if (sha256_hex(manifest_text(artifact->files)) != hex) {
      fail(ErrorKind::kIo, "artifact {}: recorded file list does not match its manifest", digest);
    }
  }
  auto result_path = [&](const std::filesystem::path& dir) {
    return artifact->kind == ArtifactKind::kDir ? dir : dir / artifact->files.front().path;
  };
  const std::filesystem::path root = workspace.checkout_root();
  std::filesystem::path dest = root / hex;
  StoreLock lock(workspace, StoreLock::Mode::kShared);
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(dest, ec))) {
    if (!std::filesystem::is_symlink(std::filesystem::symlink_status(dest)) &&
        checkout_matches(workspace, dest, *artifact, options.verify)) {
      save_ledger_quietly(workspace);
      return result_path(dest);
    }
    // Damaged or edited: if a blob behind a hard link is bad, building anew
    // below quarantines it and fails.
    remove_tree(dest);
  }
  // Built beside its destination when that is the private plaintext cache.
  std::filesystem::path temp =
      (workspace.encrypted() ? root : workspace.tmp_dir()) / random_name("checkout");
  if (::mkdir(temp.c_str(), 0770) != 0) {  // less the umask (workspace.h)
    fail(ErrorKind::kIo, "{}: cannot create: {}", temp.string(), std::strerror(errno));
  }
  int lock_fd = ::open(temp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lock_fd >= 0) ::flock(lock_fd, LOCK_EX | LOCK_NB);  // marks the folder as in use for gc
  try {
    for (const ArtifactFile& f : artifact->files) {
      std::filesystem::path target = temp / f.path;
      std::filesystem::create_directories(target.parent_path());
      place_blob(workspace.objects(), f, target);
    }
    if (::rename(temp.c_str(), dest.c_str()) != 0) {
      if (errno != EEXIST && errno != ENOTEMPTY) {
        fail(ErrorKind::kIo, "{}: cannot publish checkout: {}", dest.string(),
             std::strerror(errno));
      }
      remove_tree(temp);  // another process published the same checkout first
    }
    fsync_dir(root);
  } catch (...) {
    std::filesystem::remove_all(temp, ec);
    if (lock_fd >= 0) ::close(lock_fd);
    throw;
  }
  if (lock_fd >= 0) ::close(lock_fd);
  save_ledger_quietly(workspace);
  return result_path(dest);
}

nlohmann::json artifact_json(const Artifact& artifact, bool with_files) {
  nlohmann::json out = {{"digest", artifact.digest},
                        {"kind", to_string(artifact.kind)},
                        {"size", artifact.size},
                        {"n_files", artifact.n_files},
                        {"created_at", format_time(artifact.created_at)}};
  if (artifact.purged) out["purged"] = true;
  if (with_files) {
    nlohmann::json files = nlohmann::json::array();
    for (const ArtifactFile& f : artifact.files) {
      files.push_back({{"path", f.path}, {"sha256", f.object}, {"size", f.size}});
    }
    out["files"] = files;
  }
  return out;
}

}  // namespace enclave::store
