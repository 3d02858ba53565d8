// Api: the dashboard's JSON API over one workspace, as functions of a
// request's query (and body, for actions), so the HTTP layer (dashboard.h)
// only routes and checks who may call what. Every read goes through the
// query functions the CLI's `--json` listings use (store run_query,
// registry, lineage, audit; monitor request log and report; pipeline run
// state), so the pages and the command line show the same numbers.
//
// Listings answer {"items": [...], "next_cursor": "..." | null}: `limit`
// (1..500, default 50) items from `cursor` (opaque: pass back the
// next_cursor of the previous page).
//
// Errors are enclave::Error (kInvalidInput for a bad parameter naming it,
// kNotFound for an unknown run, name or request); the HTTP layer maps them.
// Thread safety: an Api may be called from several threads at once: each
// call opens its own connections to the workspace.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace enclave::ui {

using Query = std::map<std::string, std::string>;

// A page of a listing: `limit` items after skipping `offset`.
struct Page {
  std::int64_t limit = 50;
  std::int64_t offset = 0;
};
// Reads limit and cursor. Throws Error(kInvalidInput) naming the parameter.
Page parse_page(const Query& query);
// {"items": the page of all, "next_cursor"} where all holds every item from
// the start of the listing up to at least one past the page.
nlohmann::json page_of(const nlohmann::json& all, const Page& page);

class Api {
 public:
  explicit Api(std::filesystem::path workspace_root);
  const std::filesystem::path& root() const { return root_; }

  // The workspace at a glance: latest runs, models with aliases, datasets,
  // serving over the last day, pipeline runs waiting for approval.
  nlohmann::json home() const;

  // Runs newest first; filters kind, status, q (in the name), since (ISO
  // time), model and dataset (a registry reference the run read or wrote).
  nlohmann::json runs(const Query& query) const;
  nlohmann::json run(std::int64_t id) const;
  // Every metric's points {key: [[step, value, time], ...]}; `keys` (comma
  // separated) picks some.
  nlohmann::json run_metrics(std::int64_t id, const Query& query) const;
  // ids: "3,5,8" (2 to 4 runs).
  nlohmann::json compare(const Query& query) const;

  // Models and datasets by name (with aliases and latest version); one
  // name's versions with tags, aliases and, for models, the eval and gate
  // runs of each version (metrics with 95% intervals, gate verdicts), for
  // datasets each version's step report.
  nlohmann::json models(const Query& query) const;
  nlohmann::json model(const std::string& name) const;
  nlohmann::json datasets(const Query& query) const;
  nlohmann::json dataset(const std::string& name) const;
  // The first records of a dataset version (version: a number, default the
  // latest), paged; each item {file, line, record}.
  nlohmann::json dataset_samples(const std::string& name, const Query& query) const;

  // The lineage of ref (run:12, name@3, sha256:...) as a graph:
  // {root, nodes: [{id, type, label, ...}], edges: [{from, to, role}]}.
  nlohmann::json lineage(const Query& query) const;

  // The request log newest first (redacted as stored); filters model,
  // key, status, finish, q (in prompt or completion), since (seconds ago).
  nlohmann::json requests(const Query& query) const;
  // The monitoring report: since (seconds, default 86400), windows (count,
  // default 24), model.
  nlohmann::json serving(const Query& query) const;
  // Requests with feedback, newest first, with their review; status
  // pending|approved|rejected filters.
  nlohmann::json feedback(const Query& query) const;

  // Pipeline runs newest first (pipeline, status filter); one run with its
  // stages and, while its file is readable, its stage graph.
  nlohmann::json pipelines(const Query& query) const;
  nlohmann::json pipeline_run(std::int64_t id) const;

  // Audit entries newest first (action filter) and the chain's verification.
  nlohmann::json audit(const Query& query) const;

  // Actions. actor: "key:<id>" or the OS user, recorded by the audit log.
  // {request_id, decision: approved|rejected, correction?}
  nlohmann::json review_feedback(const nlohmann::json& body, const std::string& actor) const;
  // {name}: approved feedback as the next version of dataset name.
  nlohmann::json export_feedback(const nlohmann::json& body) const;

 private:
  std::filesystem::path root_;
};

// A JSON body field as a string; Error(kInvalidInput) naming it when it is
// missing (unless optional) or not a string.
std::string body_string(const nlohmann::json& body, const std::string& field,
                        bool optional = false);

}  // namespace enclave::ui
