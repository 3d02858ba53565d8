// Trigger evaluation for `pipeline watch`: each trigger of an `on:` block
// keeps a cursor in the store (pipeline_triggers) and fires when what
// arrived since the cursor crosses its threshold:
//   feedback {new: N}           N feedback rows past the cursor (the request
//                               log's feedback ids)
//   dataset {name, new_versions: N | new_rows: N}
//                               N versions past the cursor, or the latest
//                               version holding N more JSONL rows than the
//                               one the cursor saw
//   model_alias {name, alias}   the alias points at another version
//   schedule "CRON"             a minute the schedule names passed since
//                               the last check (local time, $TZ honoured)
//   pipeline {name, status}     a run of that pipeline ended so
//   monitor {metric, window, above | below, model?}
//                               an alert rule (monitor/alerts.h) named
//                               "pipeline:NAME" is raised: fires once when the
//                               figure crosses the threshold (at the first
//                               check too: a breach is a state, not a backlog),
//                               again only after the rule has cleared
// The first check of a trigger only records where things stand (what was
// there before the pipeline was watched does not fire it); a fire moves the
// cursor to the state that fired it.
// Thread safety: stateless functions over one Db.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "pipeline/spec.h"
#include "store/db.h"

namespace enclave::pipeline {

// What an alert rule evaluation says: whether the rule fires now, whether it
// was raised by this check, and the figure in words.
struct MonitorCheck {
  bool firing = false;
  bool raised = false;
  std::string reason;
};

// What the pipeline layer cannot read itself (the request log belongs to
// monitor, above it): the highest feedback row id, 0 when there is none;
// and the evaluation of a monitor trigger's spec as the alert rule named
// rule_name (Error(kInvalidInput) for a bad spec).
struct TriggerSources {
  std::function<std::int64_t()> feedback_high_water;
  std::function<MonitorCheck(const std::string& rule_name, const nlohmann::json& spec)>
      monitor_alert;
};

struct TriggerCheck {
  enum class Outcome { kBaseline, kWait, kFire, kNotEvaluated };
  Outcome outcome = Outcome::kWait;
  std::string reason;
  nlohmann::json cursor;  // to store: the baseline, the fired state, or the old cursor
};

// cursor: the stored one, null on the first check. Throws Error only for
// store failures; an unreadable source is a kWait with the reason.
TriggerCheck check_trigger(const std::filesystem::path& workspace_root, store::Db& db,
                           const Trigger& trigger, const nlohmann::json& cursor, double now,
                           const TriggerSources& sources);

// Rows in the JSONL files of a dataset version (all files when it has no
// .jsonl file).
std::int64_t dataset_rows(const std::filesystem::path& workspace_root, const std::string& ref);

}  // namespace enclave::pipeline
