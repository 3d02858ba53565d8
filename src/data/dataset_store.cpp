#include "data/dataset_store.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"
#include "core/json.h"
#include "store/artifacts.h"

namespace enclave::data {

bool is_side_file(std::string_view name) {
  return name == "rejected.jsonl" || name == "duplicates.jsonl" || name == "contaminated.jsonl" ||
         name == "invalid.jsonl";
}

InputDataset open_dataset(store::Workspace& workspace, std::string_view ref) {
  InputDataset in;
  in.version = store::resolve_version(workspace.db(), store::RegistryKind::kDataset, ref);
  in.dir = store::checkout_artifact(workspace, in.version.artifact);
  if (std::filesystem::is_regular_file(in.dir)) {
    // A single-file dataset registered by hand: its file is the one split.
    in.splits.push_back(in.dir.filename().string());
    in.dir = in.dir.parent_path();
  } else {
    for (const auto& entry : std::filesystem::directory_iterator(in.dir)) {
      const std::string name = entry.path().filename().string();
      if (entry.is_regular_file() && name.ends_with(".jsonl") && !is_side_file(name))
        in.splits.push_back(name);
    }
    std::sort(in.splits.begin(), in.splits.end());
  }
  if (in.splits.empty() || !in.splits.front().ends_with(".jsonl")) {
    fail_input("dataset {}: holds no .jsonl records", in.version.ref());
  }
  return in;
}

std::optional<nlohmann::json> read_dataset_report(store::Workspace& workspace,
                                                  std::string_view ref) {
  const auto dir = store::version_path(workspace, store::RegistryKind::kDataset, ref);
  const auto path = dir / kReportFile;
  if (!std::filesystem::is_regular_file(path)) return std::nullopt;
  return read_json_file(path);
}

namespace {

std::string number(const nlohmann::json& j, std::string_view key) {
  if (!j.contains(key) || !j[key].is_number()) return "-";
  return j[key].dump();
}

}  // namespace

std::string format_dataset_report(const nlohmann::json& r) {
  std::string out = "  report\n";
  out += fmt::format("    step        {}\n", r.value("step", std::string("?")));
  if (r.contains("parent") && r["parent"].is_string())
    out += fmt::format("    parent      {}\n", r["parent"].get<std::string>());
  if (r.contains("recipe") && r["recipe"].is_object()) {
    out +=
        fmt::format("    recipe      {} (step {})\n", r["recipe"].value("file", std::string("?")),
                    r["recipe"].value("step_index", 0) + 1);
  }
  out += fmt::format("    documents   {} in, {} out\n", number(r, "documents_in"),
                     number(r, "documents_out"));
  out +=
      fmt::format("    characters  {} in, {} out\n", number(r, "chars_in"), number(r, "chars_out"));
  auto counts = [&](std::string_view key, std::string_view label) {
    if (!r.contains(key) || !r[key].is_object() || r[key].empty()) return;
    std::string line;
    for (const auto& [k, v] : r[key].items())
      line += fmt::format("{}{}={}", line.empty() ? "" : ", ", k, v.dump());
    out += fmt::format("    {:<11} {}\n", label, line);
  };
  counts("removed", "removed");
  counts("duplicates", "duplicates");
  counts("pii", "pii found");
  counts("splits", "splits");
  counts("files", "files");
  if (r.contains("skipped_files") && r["skipped_files"].is_array() && !r["skipped_files"].empty()) {
    out += fmt::format("    skipped     {} file(s)\n", r["skipped_files"].size());
    for (const auto& s : r["skipped_files"]) {
      out += fmt::format("      {}: {}\n", s.value("path", std::string()),
                         s.value("reason", std::string()));
    }
  }
  if (r.contains("params")) out += fmt::format("    params      {}\n", r["params"].dump());
  return out;
}

}  // namespace enclave::data
