// The home page's live serving indicator (GET /api/v1/serving/live): is the
// served model up? The page polls it every `refresh_s` seconds.
//
// Under `enclave serve --ui` the dashboard runs inside the server, whose
// own status answers: state "up", the models it serves with their loaded
// versions (after any reload), when it started, the requests it answered and
// the sequences running and queued. `enclave ui` alone knows of no server
// (servers record nothing of themselves in the workspace), so it reports
// the most recent request in the workspace's request log and says "unknown"
// (none yet, or the last within kServingStaleSeconds) or "stale" (the last
// is older: a server that answered it may well be gone).
//
// Answer: {state: up|unknown|stale, source: server|request_log, checked_at,
// refresh_s, stale_after_s, server: {models: [{id, version}], started_at,
// uptime_s, generations, running, queued} | null, last_request: {id, time,
// age_s, model, model_version, status} | null}.
// Thread safety: stateless; each call opens its own connection to the log.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

#include "serve/server_status.h"

namespace enclave::ui {

inline constexpr double kServingStaleSeconds = 15 * 60;
inline constexpr int kServingRefreshSeconds = 5;

// server: the status of the server this dashboard runs in, or nullptr.
// now: unix seconds. Throws Error(kIo) when the request log cannot be read.
nlohmann::json serving_live(const std::filesystem::path& workspace_root,
                            const serve::ServerStatus* server, double now);

}  // namespace enclave::ui
