#include "store/purge.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "core/error.h"
#include "core/file.h"
#include "store/artifacts.h"
#include "store/audit.h"
#include "store/clock.h"
#include "store/db_maintenance.h"
#include "store/names.h"
#include "store/process_info.h"

namespace enclave::store {
namespace {

// Overwrites the blob's bytes with zeros before unlinking it, so its content
// does not linger in the file's blocks while nothing names them (on a
// filesystem that writes in place; copy-on-write and flash remapping are
// beyond a program's reach). The blob is read-only: make it writable first.
void shred_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    fail(ErrorKind::kIo, "{}: cannot stat: {}", path.string(), std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) fail(ErrorKind::kIo, "{}: not a regular file", path.string());
  if (::chmod(path.c_str(), 0600) != 0)
    fail(ErrorKind::kIo, "{}: cannot make writable: {}", path.string(), std::strerror(errno));
  int fd = ::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fail(ErrorKind::kIo, "{}: cannot open: {}", path.string(), std::strerror(errno));
  const std::string zeros(1 << 16, '\0');
  try {
    for (off_t left = st.st_size; left > 0;) {
      const std::size_t n = static_cast<std::size_t>(std::min<off_t>(left, zeros.size()));
      write_all(fd, zeros.data(), n, path);
      left -= static_cast<off_t>(n);
    }
    if (::fsync(fd) != 0)
      fail(ErrorKind::kIo, "{}: cannot sync: {}", path.string(), std::strerror(errno));
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  if (::unlink(path.c_str()) != 0)
    fail(ErrorKind::kIo, "{}: cannot remove: {}", path.string(), std::strerror(errno));
}

void remove_tree(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) fail(ErrorKind::kIo, "{}: cannot remove: {}", path.string(), ec.message());
}

}  // namespace

PurgedVersion purge_version(Workspace& workspace, RegistryKind kind, std::string_view ref) {
  const std::string k(to_string(kind));
  VersionRef r = parse_version_ref(ref, k);
  if (!r.version) {
    fail_input("{} '{}': purge takes an explicit version, such as {}@1 (see `enclave {}s show {}`)",
               k, printable(ref), r.name, k, r.name);
  }
  // Exclusive, as gc: no writer may be about to record a blob we unlink.
  StoreLock lock(workspace, StoreLock::Mode::kExclusive);
  Db& db = workspace.db();
  set_secure_delete(db);
  PurgedVersion out;
  std::vector<std::string> doomed;  // blob hex names
  {
    WriteTransaction tx(db);
    VersionInfo v = resolve_version(db, kind, ref, /*include_deleted=*/true);
    {
      Statement purged(db, "SELECT purged_at FROM registry_versions WHERE id = ?1");
      purged.bind(1, v.id);
      if (purged.step() && !purged.is_null(0)) {
        fail(ErrorKind::kNotFound, "{} {} was already purged on {}", k, v.ref(),
             format_time(purged.real(0)));
      }
    }
    const double now = now_unix();
    out.purged_at = now;
    if (!v.deleted_at) {
      db.prepare("UPDATE registry_versions SET deleted_at = ?1, deleted_by = ?2 WHERE id = ?3")
          .bind(1, now)
          .bind(2, os_user())
          .bind(3, v.id)
          .run();
    }
    db.prepare("UPDATE registry_versions SET purged_at = ?1, source = '' WHERE id = ?2")
        .bind(1, now)
        .bind(2, v.id)
        .run();
    out.aliases_removed = v.aliases;
    for (const auto& [key, value] : v.tags) out.tags_removed.push_back(key);
    db.prepare("DELETE FROM registry_aliases WHERE version_id = ?1").bind(1, v.id).run();
    db.prepare("DELETE FROM registry_tags WHERE version_id = ?1").bind(1, v.id).run();

    {
      Statement users(db,
                      "SELECT name, version, kind FROM registry_versions WHERE artifact = ?1 AND"
                      " deleted_at IS NULL AND id <> ?2 ORDER BY id");
      users.bind(1, v.artifact).bind(2, v.id);
      while (users.step()) {
        out.content_kept_for.push_back(
            fmt::format("{} {}@{}", users.text(2), users.text(0), users.int64(1)));
      }
    }
    std::optional<Artifact> artifact = find_artifact(db, v.artifact);
    out.content_erased = out.content_kept_for.empty();
    if (out.content_erased && artifact && !artifact->purged) {
      std::set<std::string> objects;
      for (const ArtifactFile& f : artifact->files) objects.insert(f.object);
      if (artifact->kind == ArtifactKind::kDir) objects.insert(parse_digest(v.artifact));
      db.prepare("DELETE FROM artifact_files WHERE artifact = ?1").bind(1, v.artifact).run();
      db.prepare("UPDATE artifacts SET purged_at = ?1 WHERE digest = ?2")
          .bind(1, now)
          .bind(2, v.artifact)
          .run();
      Statement shared(db,
                       "SELECT 1 FROM artifact_files WHERE object = ?1 UNION ALL SELECT 1 FROM"
                       " artifacts WHERE digest = ?2 AND kind = 'dir' AND purged_at IS NULL");
      for (const std::string& hex : objects) {
        shared.reset();
        shared.bind(1, hex).bind(2, "sha256:" + hex);
        if (shared.step()) {
          ++out.n_objects_shared;
        } else {
          doomed.push_back(hex);
        }
      }
      shared.reset();
    }
    out.n_objects_removed = static_cast<std::int64_t>(doomed.size());
    nlohmann::json details = {{"artifact", v.artifact},
                              {"content_erased", out.content_erased},
                              {"objects_removed", out.n_objects_removed},
                              {"objects_shared", out.n_objects_shared},
                              {"aliases_removed", out.aliases_removed},
                              {"tags_removed", out.tags_removed}};
    if (!out.content_kept_for.empty()) details["content_kept_for"] = out.content_kept_for;
    append_audit(db, "purge", fmt::format("{} {}", k, v.ref()), details);
    tx.commit();
    out.version = resolve_version(db, kind, v.ref(), /*include_deleted=*/true);
  }

  // Files after the commit, as gc: a crash in between leaves unreferenced
  // files (gc removes them), never a row naming a missing blob.
  ObjectStore& objects = workspace.objects();
  for (const std::string& hex : doomed) {
    const std::filesystem::path path = objects.path_of(hex);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0)
      out.bytes_removed += static_cast<std::uint64_t>(st.st_size);
    // The checkout's files are hard links to these blobs: zeroed with them.
    shred_file(path);
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(objects.quarantine_dir(), ec)) {
      if (entry.path().filename().string().starts_with(hex)) shred_file(entry.path());
    }
  }
  if (out.content_erased) {
    const std::filesystem::path checkout =
        workspace.checkouts_dir() / parse_digest(out.version.artifact);
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::symlink_status(checkout, ec))) {
      remove_tree(checkout);
      ++out.n_checkouts_removed;
    }
  }
  if (!doomed.empty()) fsync_dir(objects.objects_dir());
  scrub_deleted(db);
  return out;
}

nlohmann::json purged_version_json(const PurgedVersion& p) {
  nlohmann::json out = version_json(p.version);
  out["purged_at"] = format_time(p.purged_at);
  out["aliases_removed"] = p.aliases_removed;
  out["tags_removed"] = p.tags_removed;
  out["content_erased"] = p.content_erased;
  out["content_kept_for"] = p.content_kept_for;
  out["objects_removed"] = p.n_objects_removed;
  out["bytes_removed"] = p.bytes_removed;
  out["objects_shared"] = p.n_objects_shared;
  out["checkouts_removed"] = p.n_checkouts_removed;
  return out;
}

std::string format_purged_version(const PurgedVersion& p) {
  const VersionInfo& v = p.version;
  std::string out = fmt::format("purged {} {} (artifact {})\n", to_string(v.kind), v.ref(),
                                v.artifact.substr(0, 19));
  if (p.content_erased) {
    out += fmt::format("  content erased: {} object(s), {}; {} checkout(s)", p.n_objects_removed,
                       format_bytes(p.bytes_removed), p.n_checkouts_removed);
    if (p.n_objects_shared > 0)
      out += fmt::format("; {} object(s) kept, other artifacts share them", p.n_objects_shared);
    out += "\n";
  } else {
    out += fmt::format("  content kept: {} still name(s) the same artifact\n",
                       fmt::join(p.content_kept_for, ", "));
  }
  if (!p.aliases_removed.empty())
    out += fmt::format("  aliases removed: {}\n", fmt::join(p.aliases_removed, ", "));
  if (!p.tags_removed.empty())
    out += fmt::format("  tags removed: {}\n", fmt::join(p.tags_removed, ", "));
  out += "  the version stays in lineage as a tombstone, marked purged\n";
  return out;
}

}  // namespace enclave::store
