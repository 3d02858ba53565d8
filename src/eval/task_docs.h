// The documents a task is evaluated on: read from a JSONL file, a folder of
// <split>.jsonl files, a dataset version in the workspace registry, or the
// task's in-memory documents (built-in tasks), then cut to the limit.
// JSONL is read strictly: each non-empty line one JSON object (duplicate keys
// and deep nesting rejected by core/json.h), a UTF-8 BOM rejected, CRLF line
// ends accepted; errors name the file and line.
// Thread safety: stateless; safe from any thread (each call opens its own
// workspace when it needs one).
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "eval/task_spec.h"
#include "store/workspace.h"

namespace enclave::eval {

struct TaskDocs {
  std::vector<nlohmann::json> docs;          // evaluation documents, after the limit
  std::vector<nlohmann::json> fewshot_pool;  // where few-shot examples come from
  bool fewshot_from_docs = true;  // the pool is the evaluation split: a document never shows itself
  std::size_t n_available = 0;    // documents in the split before the limit
  std::string data_sha256;        // hash of the evaluation file ("" for in-memory documents)
  std::optional<std::int64_t> dataset_version_id;  // registry version, when the dataset is a ref
};

struct DocsOptions {
  store::FindOptions workspace;  // for dataset references
  std::optional<double> limit;   // overrides the task's limit
  std::uint64_t max_docs = 10'000'000;
};

// Throws Error(kNotFound) for a missing file, split or dataset version,
// Error(kInvalidInput) for malformed JSONL or a split with no documents.
TaskDocs load_task_docs(const TaskSpec& task, const DocsOptions& options = {});

// Reads a JSONL file of objects. Throws Error(kInvalidInput) naming the file
// and line for a line that is not a JSON object, a BOM, or more than max_docs
// documents; Error(kNotFound) if it is missing.
std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path,
                                       std::uint64_t max_docs = 10'000'000);

// How many of n documents a limit keeps: a count (>= 1) or a fraction (< 1).
std::size_t apply_limit(std::size_t n, std::optional<double> limit);

}  // namespace enclave::eval
