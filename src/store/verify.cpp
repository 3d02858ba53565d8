#include "store/verify.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <set>

#include "core/error.h"
#include "core/hash.h"
#include "store/artifacts.h"
#include "store/hash_ledger.h"
#include "store/names.h"

namespace enclave::store {
namespace {

void check_database(Db& db, VerifyReport& report) {
  Statement integrity(db, "PRAGMA integrity_check");
  while (integrity.step()) {
    std::string line = integrity.text(0);
    if (line != "ok") report.problems.push_back({"database", db.path().string(), line});
  }
  Statement fk(db, "PRAGMA foreign_key_check");
  while (fk.step()) {
    report.problems.push_back({"database", db.path().string(),
                               fmt::format("table {} row {} references a missing row in {}",
                                           fk.text(0), fk.int64(1), fk.text(2))});
  }
}

std::uint64_t total_bytes(const ObjectStore& objects, const std::vector<std::string>& hexes) {
  std::uint64_t total = 0;
  for (const std::string& hex : hexes) {
    struct stat st {};
    if (::lstat(objects.path_of(hex).c_str(), &st) == 0)
      total += static_cast<std::uint64_t>(st.st_size);
  }
  return total;
}

}  // namespace

VerifyReport verify_store(Workspace& workspace, const VerifyOptions& options) {
  VerifyReport report;
  StoreLock lock(workspace, StoreLock::Mode::kShared);  // gc must not delete blobs under us
  Db& db = workspace.db();
  ObjectStore& objects = workspace.objects();
  check_database(db, report);

  ObjectStore::Listing listing = objects.list();
  for (const auto& stray : listing.strays) {
    report.problems.push_back({"stray", stray.string(), "unexpected entry in the object store"});
  }
  Progress progress(
      {.label = "verifying", .total = total_bytes(objects, listing.objects), .unit = "bytes"},
      stderr, options.show_progress && ::isatty(STDERR_FILENO) == 1);
  std::set<std::string> good;
  for (const std::string& hex : listing.objects) {
    ++report.n_objects;
    std::string actual;
    try {
      actual = objects.rehash(hex, &progress);
    } catch (const Error& e) {
      report.problems.push_back({"unreadable-object", hex, e.what()});
      continue;
    }
    std::error_code size_ec;
    std::uintmax_t size = std::filesystem::file_size(objects.path_of(hex), size_ec);
    if (!size_ec) report.bytes_hashed += size;
    if (actual == hex) {
      good.insert(hex);
      continue;
    }
    std::string detail = fmt::format("content hashes to {}", actual);
    if (options.quarantine)
      detail += fmt::format("; moved to {}", objects.quarantine(hex).string());
    report.problems.push_back({"corrupt-object", hex, detail});
  }
  progress.finish();

  std::optional<ReadTransaction> snapshot;
  snapshot.emplace(db);
  std::vector<std::string> digests;
  {
    // Purged artifacts (content reclaimed after their versions were deleted)
    // have no files or blobs left to check.
    Statement q(db, "SELECT digest FROM artifacts WHERE purged_at IS NULL ORDER BY digest");
    while (q.step()) digests.push_back(q.text(0));
  }
  for (const std::string& digest : digests) {
    ++report.n_artifacts;
    std::optional<Artifact> a = find_artifact(db, digest);
    if (!a) continue;
    std::string hex = parse_digest(digest);
    for (const ArtifactFile& f : a->files) {
      if (!good.contains(f.object)) {
        report.problems.push_back(
            {"missing-object", digest,
             fmt::format("file '{}': blob {} is missing or corrupt", printable(f.path), f.object)});
      }
    }
    if (a->kind == ArtifactKind::kFile) {
      if (a->files.size() != 1 || a->files[0].object != hex) {
        report.problems.push_back(
            {"bad-manifest", digest, "file artifact does not name its own blob"});
      }
      continue;
    }
    if (!good.contains(hex)) {
      report.problems.push_back({"missing-object", digest, "manifest blob is missing or corrupt"});
      continue;
    }
    try {
      std::vector<ArtifactFile> listed = parse_manifest(objects.read_verified(hex), digest);
      bool same = listed.size() == a->files.size();
      for (std::size_t i = 0; same && i < listed.size(); ++i) {
        same = listed[i].path == a->files[i].path && listed[i].object == a->files[i].object &&
               listed[i].size == a->files[i].size;
      }
      if (!same)
        report.problems.push_back(
            {"bad-manifest", digest, "recorded files differ from the manifest"});
    } catch (const Error& e) {
      report.problems.push_back({"bad-manifest", digest, e.what()});
    }
  }

  // Checkouts share inodes with their blobs; a file that is not a link to a
  // good blob (copied, or replaced by an edit) is hashed on its own.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(workspace.checkouts_dir(), ec)) {
    std::string name = entry.path().filename().string();
    std::string digest = "sha256:" + name;
    std::optional<Artifact> a = is_digest(digest) ? find_artifact(db, digest) : std::nullopt;
    if (!a) continue;  // gc removes checkouts of unknown artifacts
    for (const ArtifactFile& f : a->files) {
      std::filesystem::path p = entry.path() / f.path;
      struct stat cst {};
      struct stat ost {};
      if (::lstat(p.c_str(), &cst) != 0) {
        report.problems.push_back(
            {"checkout", p.string(), "file missing from checkout (it is rebuilt on next use)"});
        continue;
      }
      bool linked = ::lstat(objects.path_of(f.object).c_str(), &ost) == 0 &&
                    cst.st_ino == ost.st_ino && cst.st_dev == ost.st_dev;
      if (linked && good.contains(f.object)) continue;
      if (!S_ISREG(cst.st_mode) || objects.hash_file(p) != f.object) {
        report.problems.push_back({"checkout", p.string(),
                                   "content does not match the stored file (rebuilt on next use)"});
      }
    }
  }
  for (const auto& entry : std::filesystem::directory_iterator(workspace.tmp_dir(), ec)) {
    (void)entry;
    ++report.n_temp_files;
  }
  snapshot.reset();
  save_hash_ledger(db, objects);  // every good blob was verified just now
  return report;
}

nlohmann::json verify_report_json(const VerifyReport& report) {
  nlohmann::json problems = nlohmann::json::array();
  for (const VerifyProblem& p : report.problems) {
    problems.push_back({{"kind", p.kind}, {"target", p.target}, {"detail", p.detail}});
  }
  return {{"ok", report.ok()},
          {"n_objects", report.n_objects},
          {"n_artifacts", report.n_artifacts},
          {"bytes_hashed", report.bytes_hashed},
          {"n_temp_files", report.n_temp_files},
          {"problems", problems}};
}

std::string format_verify_report(const VerifyReport& report) {
  std::string out;
  for (const VerifyProblem& p : report.problems) {
    out += fmt::format("{}: {}: {}\n", p.kind, p.target, p.detail);
  }
  out += fmt::format("{}: {} objects ({}), {} artifacts checked, {} problem(s)",
                     report.ok() ? "store OK" : "store CORRUPT", report.n_objects,
                     format_bytes(report.bytes_hashed), report.n_artifacts, report.problems.size());
  if (report.n_temp_files > 0)
    out += fmt::format("; {} leftover temp file(s), run `enclave store gc`", report.n_temp_files);
  return out + "\n";
}

}  // namespace enclave::store
