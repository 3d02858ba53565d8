// Runs as people and scripts touch them from a shell: `enclave runs log`
// adding KEY=VALUE metric points and params to a running run (the run
// `enclave runs exec` started, found through $ENCLAVE_RUN_ID), `--param
// KEY=VALUE` on `runs exec`, and a run's log read back for `runs show --log`.
// Thread safety: operates on one Workspace; see workspace.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/runs.h"
#include "store/workspace.h"

namespace enclave::store {

// "--param KEY=VALUE" items as a params object: VALUE is JSON when it parses
// as JSON (3e-4, true, [1,2]), else a string, so `optim=adamw` needs no
// quotes. Throws Error(kInvalidInput) naming flag and the item for a missing
// '=', an empty or unprintable key.
nlohmann::json parse_param_assignments(const std::vector<std::string>& items,
                                       std::string_view flag = "--param");

struct RunLogRequest {
  std::string run;                   // "12" or "run:12"; empty: $ENCLAVE_RUN_ID
  std::vector<std::string> metrics;  // KEY=NUMBER
  std::vector<std::string> params;   // KEY=VALUE, as parse_param_assignments
  std::optional<std::int64_t> step;  // default: one past each key's last step
};

struct RunLogResult {
  std::int64_t run_id = 0;
  std::vector<MetricPoint> points;
  nlohmann::json params;
};

// Adds the request's points and params to its run. Throws
// Error(kInvalidInput) when no run is given and $ENCLAVE_RUN_ID is unset,
// when there is nothing to add, or for a malformed item or non-numeric
// metric value; what log_to_run throws for an unknown or finished run.
// The workspace is opened (find) only once the request is known to be good.
RunLogResult log_run_assignments(const FindOptions& find, const RunLogRequest& request);

// The text of run's log (run as show_run returns it), "" when it has none or
// the file is gone. Throws Error(kInvalidInput) for a log path that leaves
// .enclave, Error(kIo) for an unreadable file or one over 64 MiB.
std::string read_run_log(const Workspace& workspace, const nlohmann::json& run);

}  // namespace enclave::store
