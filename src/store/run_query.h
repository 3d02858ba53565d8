// Reading runs back: the data behind `enclave runs list|show|compare`, as
// JSON (what --json prints) and as text tables for people.
// Thread safety: operates on one Db; see db.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/db.h"

namespace enclave::store {

struct RunFilter {
  std::string kind;         // empty: any
  std::string status;       // empty: any; else running|finished|failed|killed
  std::int64_t limit = 50;  // newest first; 0 = all
};

// Newest first: [{id, kind, name, status, started_at, ended_at, duration_s,
// metrics: {key: last value}}].
nlohmann::json list_runs(Db& db, const RunFilter& filter = {});
std::string format_runs_list(const nlohmann::json& runs);

// Everything about one run: the list fields plus command, params, program
// version, build id, host, user, pid, seed, message, log path, inputs,
// outputs and per-metric summaries {last, last_step, min, max, n}; with
// series, every point as [step, value, time]. Throws Error(kNotFound).
nlohmann::json show_run(Db& db, std::int64_t id, bool series = false);
std::string format_run(const nlohmann::json& run);

// Params and final metric values of several runs side by side:
// {runs: [{id, kind, name, status}], params: [{key, values, differs}],
//  metrics: [{key, values, differs}]}; a missing value is null.
nlohmann::json compare_runs(Db& db, const std::vector<std::int64_t>& ids);
// A table with one column per run; rows whose values differ are marked '*'.
std::string format_compare(const nlohmann::json& comparison);

// Parses a run id as typed by a user ("12" or "run:12"). Throws Error(kInvalidInput).
std::int64_t parse_run_id(std::string_view text);

}  // namespace enclave::store
