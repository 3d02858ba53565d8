// `enclave store verify`: re-hashes every stored blob, checks every recorded
// artifact has its blobs and that a directory's file list matches its
// manifest, checks checkouts still match, and runs SQLite's integrity and
// foreign-key checks. Corrupt blobs are moved to quarantine (so nothing
// serves them) and reported; verify never repairs silently.
// Thread safety: see workspace.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/workspace.h"

namespace enclave::store {

struct VerifyProblem {
  std::string
      kind;  // "corrupt-object", "missing-object", "bad-manifest", "checkout", "database", "stray"
  std::string target;  // object hex, artifact digest, path
  std::string detail;
};

struct VerifyReport {
  std::int64_t n_objects = 0;
  std::int64_t n_artifacts = 0;
  std::uint64_t bytes_hashed = 0;
  std::int64_t n_temp_files = 0;  // leftovers for gc; not a problem
  std::vector<VerifyProblem> problems;
  bool ok() const { return problems.empty(); }
};

struct VerifyOptions {
  bool quarantine = true;  // move corrupt blobs out of objects/
  bool show_progress = false;
};

VerifyReport verify_store(Workspace& workspace, const VerifyOptions& options = {});

nlohmann::json verify_report_json(const VerifyReport& report);
std::string format_verify_report(const VerifyReport& report);

}  // namespace enclave::store
