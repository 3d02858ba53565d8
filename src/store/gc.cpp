#include "store/gc.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "core/error.h"
#include "store/artifacts.h"
#include "store/audit.h"
#include "store/clock.h"
#include "store/names.h"

namespace enclave::store {
namespace {

void remove_path(const std::filesystem::path& p) {
  std::error_code ec;
  std::filesystem::remove_all(p, ec);
  if (ec) fail(ErrorKind::kIo, "{}: cannot remove: {}", p.string(), ec.message());
}

}  // namespace

GcReport collect_garbage(Workspace& workspace, const GcOptions& options) {
  GcReport report;
  report.dry_run = options.dry_run;
  StoreLock lock(workspace, StoreLock::Mode::kExclusive);
  Db& db = workspace.db();
  ObjectStore& objects = workspace.objects();
  WriteTransaction tx(db);

  // Artifacts nobody alive refers to (run_io and live registry_versions are
  // the only references). Those no row names at all are deleted, their
  // artifact_files rows with them (ON DELETE CASCADE); those that only
  // deleted versions name keep their row for those versions' foreign key and
  // for lineage, but lose their files (purged), which frees the blobs below.
  const std::string unreferenced =
      " FROM artifacts WHERE purged_at IS NULL"
      " AND digest NOT IN (SELECT artifact FROM run_io WHERE artifact IS NOT NULL)"
      " AND digest NOT IN (SELECT artifact FROM registry_versions WHERE deleted_at IS NULL)";
  const std::string named_by_deleted = " AND digest IN (SELECT artifact FROM registry_versions)";
  {
    Statement count(db, "SELECT COUNT(*)" + unreferenced);
    count.step();
    report.n_artifacts = count.int64(0);
  }
  if (!options.dry_run && report.n_artifacts > 0) {
    db.exec("DELETE FROM artifact_files WHERE artifact IN (SELECT digest" + unreferenced +
            named_by_deleted + ")");
    Statement purge(db, "UPDATE artifacts SET purged_at = ?1 WHERE digest IN (SELECT digest" +
                            unreferenced + named_by_deleted + ")");
    purge.bind(1, now_unix()).run();
    db.exec("DELETE" + unreferenced);
  }

  std::set<std::string> live;
  {
    Statement files(db, "SELECT DISTINCT object FROM artifact_files");
    while (files.step()) live.insert(files.text(0));
    Statement dirs(db, "SELECT digest FROM artifacts WHERE kind = 'dir' AND purged_at IS NULL");
    while (dirs.step()) live.insert(parse_digest(dirs.text(0)));
  }
  std::vector<std::filesystem::path> doomed;
  // The ledger forgets blobs that are going (hash_ledger.h).
  Statement forget(db, "DELETE FROM blob_verifications WHERE object = ?1");
  for (const std::string& hex : objects.list().objects) {
    if (live.contains(hex)) continue;
    if (!options.dry_run) {
      forget.reset();
      forget.bind(1, hex).run();
    }
    std::filesystem::path p = objects.path_of(hex);
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0) report.bytes += static_cast<std::uint64_t>(st.st_size);
    ++report.n_objects;
    doomed.push_back(p);
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(workspace.checkouts_dir(), ec)) {
    std::string digest = "sha256:" + entry.path().filename().string();
    bool known = false;
    if (is_digest(digest)) {
      Statement q(db, "SELECT 1 FROM artifacts WHERE digest = ?1 AND purged_at IS NULL");
      q.bind(1, digest);
      known = q.step();
    }
    if (known) continue;
    ++report.n_checkouts;
    doomed.push_back(entry.path());
  }
  for (const auto& entry : std::filesystem::directory_iterator(workspace.tmp_dir(), ec)) {
    if (!temp_is_abandoned(entry.path())) continue;
    ++report.n_temp;
    doomed.push_back(entry.path());
  }
  if (options.dry_run) return report;
  append_audit(db, "gc", workspace.root().string(),
               {{"objects", report.n_objects},
                {"bytes", report.bytes},
                {"artifacts", report.n_artifacts},
                {"checkouts", report.n_checkouts},
                {"temp_files", report.n_temp}});
  // Rows first, files after the commit: a crash in between leaves only
  // unreferenced files for the next gc, never a row naming a missing blob.
  // The exclusive store lock keeps writers from referring to them meanwhile.
  tx.commit();
  for (const auto& p : doomed) remove_path(p);
  fsync_dir(workspace.tmp_dir());
  return report;
}

nlohmann::json gc_report_json(const GcReport& report) {
  return {{"dry_run", report.dry_run},       {"objects", report.n_objects},
          {"bytes", report.bytes},           {"artifacts", report.n_artifacts},
          {"checkouts", report.n_checkouts}, {"temp_files", report.n_temp}};
}

std::string format_gc_report(const GcReport& report) {
  return fmt::format(
      "{} {} unreferenced object(s) ({}), {} artifact record(s), {} checkout(s), {} temp file(s)\n",
      report.dry_run ? "would remove" : "removed", report.n_objects, format_bytes(report.bytes),
      report.n_artifacts, report.n_checkouts, report.n_temp);
}

}  // namespace enclave::store
