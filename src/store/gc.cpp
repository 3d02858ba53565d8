#include "store/gc.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "core/error.h"
#include "store/artifacts.h"
#include "store/audit.h"
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

  // Artifacts nobody refers to (run_io and registry_versions are the only
  // references); their artifact_files rows go with them (ON DELETE CASCADE).
  const char* unreferenced =
      " FROM artifacts WHERE digest NOT IN (SELECT artifact FROM run_io WHERE artifact IS NOT NULL)"
      " AND digest NOT IN (SELECT artifact FROM registry_versions)";
  {
    Statement count(db, std::string("SELECT COUNT(*)") + unreferenced);
    count.step();
    report.n_artifacts = count.int64(0);
  }
  if (!options.dry_run && report.n_artifacts > 0) db.exec(std::string("DELETE") + unreferenced);

  std::set<std::string> live;
  {
    Statement files(db, "SELECT DISTINCT object FROM artifact_files");
    while (files.step()) live.insert(files.text(0));
    Statement dirs(db, "SELECT digest FROM artifacts WHERE kind = 'dir'");
    while (dirs.step()) live.insert(parse_digest(dirs.text(0)));
  }
  std::vector<std::filesystem::path> doomed;
  for (const std::string& hex : objects.list().objects) {
    if (live.contains(hex)) continue;
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
      Statement q(db, "SELECT 1 FROM artifacts WHERE digest = ?1");
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
               {{"objects", report.n_objects}, {"bytes", report.bytes}, {"artifacts", report.n_artifacts},
                {"checkouts", report.n_checkouts}, {"temp_files", report.n_temp}});
  // Rows first, files after the commit: a crash in between leaves only
  // unreferenced files for the next gc, never a row naming a missing blob.
  // The exclusive store lock keeps writers from referring to them meanwhile.
  tx.commit();
  for (const auto& p : doomed) remove_path(p);
  fsync_dir(workspace.tmp_dir());
  return report;
}

nlohmann::json gc_report_json(const GcReport& report) {
  return {{"dry_run", report.dry_run},       {"objects", report.n_objects},     {"bytes", report.bytes},
          {"artifacts", report.n_artifacts}, {"checkouts", report.n_checkouts}, {"temp_files", report.n_temp}};
}

std::string format_gc_report(const GcReport& report) {
  return fmt::format("{} {} unreferenced object(s) ({}), {} artifact record(s), {} checkout(s), {} temp file(s)\n",
                     report.dry_run ? "would remove" : "removed", report.n_objects, format_bytes(report.bytes),
                     report.n_artifacts, report.n_checkouts, report.n_temp);
}

}  // namespace enclave::store
