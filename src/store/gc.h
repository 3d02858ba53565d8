// `enclave store gc`: removes what nothing refers to. Blobs that no recorded
// artifact names (left by a process killed between writing a blob and
// committing its row), artifacts that no run or live registry version names
// (an artifact only deleted versions name keeps its row, marked purged, and
// loses its files; see registry.h),
// checkouts of artifacts no longer recorded, and temp files whose writer is
// gone (its flock is free). gc holds the store lock exclusively, so it never
// deletes a blob that a live writer has stored but not yet recorded, and it
// appends what it removed to the audit log.
// Thread safety: see workspace.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "store/workspace.h"

namespace enclave::store {

struct GcOptions {
  bool dry_run = false;  // report what would go, remove nothing
};

struct GcReport {
  std::int64_t n_objects = 0;    // blobs removed
  std::uint64_t bytes = 0;       // their size
  std::int64_t n_artifacts = 0;  // artifact records removed or purged
  std::int64_t n_checkouts = 0;
  std::int64_t n_temp = 0;
  bool dry_run = false;
};

GcReport collect_garbage(Workspace& workspace, const GcOptions& options = {});

nlohmann::json gc_report_json(const GcReport& report);
std::string format_gc_report(const GcReport& report);

}  // namespace enclave::store
