#include "ui/serving_live.h"

#include <algorithm>
#include <vector>

#include "monitor/request_log.h"
#include "store/clock.h"

namespace enclave::ui {

nlohmann::json serving_live(const std::filesystem::path& workspace_root,
                            const serve::ServerStatus* server, double now) {
  nlohmann::json out = {{"checked_at", store::format_time(now)},
                        {"refresh_s", kServingRefreshSeconds},
                        {"stale_after_s", kServingStaleSeconds},
                        {"server", nullptr},
                        {"last_request", nullptr}};
  if (std::filesystem::exists(monitor::RequestLog::db_path(workspace_root))) {
    const std::vector<monitor::RequestRecord> last =
        monitor::query_requests(workspace_root, {.limit = 1});
    if (!last.empty()) {
      const monitor::RequestRecord& r = last.front();
      out["last_request"] = {{"id", r.id},
                             {"time", store::format_time(r.created_at)},
                             {"age_s", std::max(0.0, now - r.created_at)},
                             {"model", r.model},
                             {"model_version", r.model_version},
                             {"status", r.status}};
    }
  }
  if (server != nullptr) {
    nlohmann::json models = nlohmann::json::array();
    for (const serve::ServedModel& m : server->models)
      models.push_back({{"id", m.id}, {"version", m.version}});
    out["server"] = {{"models", models},
                     {"started_at", store::format_time(server->started_at)},
                     {"uptime_s", std::max(0.0, now - server->started_at)},
                     {"generations", server->generations},
                     {"running", server->running},
                     {"queued", server->queued}};
    out["source"] = "server";
    out["state"] = "up";
    return out;
  }
  out["source"] = "request_log";
  const bool stale = !out["last_request"].is_null() &&
                     out["last_request"]["age_s"].get<double>() > kServingStaleSeconds;
  out["state"] = stale ? "stale" : "unknown";
  return out;
}

}  // namespace enclave::ui
