// Internal to the data steps (steps.h): what a step implementation gets from
// the runner, and helpers shared by the implementations.
// Thread safety: one StepContext per step run.
#pragma once

#include <filesystem>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "data/dataset_store.h"
#include "data/document_stream.h"
#include "data/worker_pool.h"

namespace enclave::data {

struct StepContext {
  const nlohmann::json& params;
  std::string what;                     // "data filter": prefix of error messages
  const InputDataset* input = nullptr;  // null for ingest
  std::filesystem::path out_dir;        // staging folder the step writes into
  WorkerPool& pool;
  bool show_progress = false;
  std::filesystem::path workspace_root;
  nlohmann::json report = nlohmann::json::object();  // counts the step fills in
};

// Throws Error(kInvalidInput) "<what>: unknown setting 'k' (expected a, b)".
void check_keys(const nlohmann::json& params, std::string_view what,
                std::initializer_list<std::string_view> keys);

// Streams every split of the input through step into same-named files in
// out_dir (side lines into side_name when given), and records documents and
// characters in and out and removals per rule in ctx.report.
StreamStats stream_splits(StepContext& ctx, DocumentStep& step, std::string_view side_name = "");

// Writes the stats into ctx.report.
void report_stats(StepContext& ctx, const StreamStats& stats);

// A record's JSONL with one more member appended ("rejected_by": rule).
std::string with_member(std::string jsonl, std::string_view key, std::string_view value);

void step_ingest(StepContext& ctx);
void step_normalize(StepContext& ctx);
void step_filter(StepContext& ctx);
void step_pii(StepContext& ctx);
void step_dedup(StepContext& ctx);
void step_decontaminate(StepContext& ctx);
void step_split(StepContext& ctx);
void step_format(StepContext& ctx);

}  // namespace enclave::data
