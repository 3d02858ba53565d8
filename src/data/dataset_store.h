// Dataset versions in the store. A version is a folder artifact:
//
//   data.jsonl | train.jsonl, validation.jsonl, test.jsonl   the records (splits)
//   report.json        what the step did: parent, params, recipe, counts
//   rejected.jsonl     filter --keep-rejected: removed records with their rule
//   duplicates.jsonl   dedup: removed id -> kept id, kind, similarity
//   contaminated.jsonl decontaminate: removed ids with the matching n-gram
//   invalid.jsonl      format: rows that failed validation, with the reason
//
// Each step reads the splits of its input version, writes its output into a
// staging folder inside the workspace's .enclave/tmp (held under a lock so
// `store gc` leaves it alone), then registers it as the next version of the
// output name, made by a "data" run whose input is the parent version.
// Thread safety: see store/workspace.h.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/registry.h"
#include "store/workspace.h"

namespace enclave::data {

inline constexpr std::string_view kReportFile = "report.json";
inline constexpr std::string_view kReportFormat = "enclave-data-report";
inline constexpr int kReportFormatVersion = 1;

// True for the side files listed above (not record splits).
bool is_side_file(std::string_view file_name);

struct InputDataset {
  store::VersionInfo version;
  std::filesystem::path dir;  // the checkout (read-only)
  std::vector<std::string>
      splits;  // record files, e.g. {"data.jsonl"} or {"test.jsonl", "train.jsonl", ...}
};

// Resolves ref ("name", "name@3", "name:alias") and checks it out. Throws
// Error(kNotFound) for an unknown ref, Error(kInvalidInput) if the version
// holds no .jsonl records.
InputDataset open_dataset(store::Workspace& workspace, std::string_view ref);

// The report.json of a stored dataset version, or nullopt if it has none.
std::optional<nlohmann::json> read_dataset_report(store::Workspace& workspace,
                                                  std::string_view ref);

// A report as lines for `enclave datasets show`: step, parent, documents and
// characters in and out, removals per rule, duplicates, PII by type, splits,
// skipped files.
std::string format_dataset_report(const nlohmann::json& report);

}  // namespace enclave::data
