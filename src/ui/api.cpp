#include "ui/api.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <set>

#include "core/error.h"
#include "data/dataset_store.h"
#include "monitor/feedback_export.h"
#include "monitor/feedback_review.h"
#include "monitor/report.h"
#include "monitor/request_log.h"
#include "pipeline/dag.h"
#include "pipeline/run_state.h"
#include "pipeline/spec.h"
#include "store/audit.h"
#include "store/clock.h"
#include "store/iso_time.h"
#include "store/lineage.h"
#include "store/registry.h"
#include "store/run_query.h"
#include "store/runs.h"
#include "store/workspace.h"

namespace enclave::ui {
namespace {

constexpr std::int64_t kMaxLimit = 500;
constexpr int kMaxSampleBytes = 4096;  // of one sample record shown

std::string param(const Query& query, const std::string& name) {
  auto it = query.find(name);
  return it == query.end() ? "" : it->second;
}

std::int64_t parse_int(const std::string& text, const std::string& name) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end)
    fail_input("{}: '{}' is not a whole number", name, text);
  return value;
}

double parse_number(const std::string& text, const std::string& name) {
  try {
    std::size_t used = 0;
    const double value = std::stod(text, &used);
    if (used == text.size() && std::isfinite(value)) return value;
  } catch (const std::exception&) {
  }
  fail_input("{}: '{}' is not a number", name, text);
}

bool contains_folded(std::string_view text, std::string_view needle) {
  if (needle.empty()) return true;
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  auto it = std::search(text.begin(), text.end(), needle.begin(), needle.end(),
                        [&](char a, char b) { return lower(a) == lower(b); });
  return it != text.end();
}

// How many items a page needs fetched from the start of a listing.
std::int64_t fetch_count(const Page& page) { return page.offset + page.limit + 1; }

// The run ids of a registry reference's lineage one step either way (the
// runs that read or wrote it).
std::set<std::int64_t> runs_touching(store::Db& db, const std::string& ref,
                                     const std::string& kind) {
  store::LineageOptions options{.direction = store::LineageDirection::kBoth, .kind = kind};
  options.max_depth = 1;
  const nlohmann::json graph = store::lineage(db, ref, options);
  std::set<std::int64_t> ids;
  for (const char* side : {"upstream", "downstream"}) {
    if (!graph.contains(side)) continue;
    for (const nlohmann::json& node : graph[side]) {
      if (node.value("type", "") == "run") ids.insert(node["id"].get<std::int64_t>());
    }
  }
  // A reference may name several versions ("sft" is the latest only): a
  // bare name matches every version's runs.
  if (ref.find_first_of("@:") == std::string::npos) {
    const nlohmann::json shown = store::show_registry(
        db, kind == "model" ? store::RegistryKind::kModel : store::RegistryKind::kDataset, ref);
    for (const nlohmann::json& v : shown.value("versions", nlohmann::json::array())) {
      const std::string version_ref = fmt::format("{}@{}", ref, v["version"].get<std::int64_t>());
      const nlohmann::json g = store::lineage(db, version_ref, options);
      for (const char* side : {"upstream", "downstream"}) {
        if (!g.contains(side)) continue;
        for (const nlohmann::json& node : g[side]) {
          if (node.value("type", "") == "run") ids.insert(node["id"].get<std::int64_t>());
        }
      }
    }
  }
  return ids;
}

// Eval and gate runs of one model version: its lineage one step down.
nlohmann::json evaluations(store::Db& db, const std::string& ref) {
  store::LineageOptions options{.direction = store::LineageDirection::kDown, .kind = "model"};
  options.max_depth = 1;
  const nlohmann::json graph = store::lineage(db, ref, options);
  nlohmann::json out = nlohmann::json::array();
  for (const nlohmann::json& node : graph.value("downstream", nlohmann::json::array())) {
    if (node.value("type", "") != "run") continue;
    const std::string kind = node.value("kind", "");
    if (kind != "eval" && kind != "gate") continue;
    if (node.value("role", "") == "baseline") continue;
    const nlohmann::json run = store::show_run(db, node["id"].get<std::int64_t>());
    nlohmann::json metrics = nlohmann::json::array();
    const nlohmann::json& summaries = run.value("metrics", nlohmann::json::object());
    for (const auto& [key, summary] : summaries.items()) {
      if (key.ends_with("_stderr") || key == "gate/passed") continue;
      nlohmann::json m = {{"key", key}, {"value", summary.value("last", nlohmann::json())}};
      auto stderr_it = summaries.find(key + "_stderr");
      if (stderr_it != summaries.end() && m["value"].is_number() &&
          stderr_it->value("last", nlohmann::json()).is_number()) {
        const double value = m["value"].get<double>();
        const double se = (*stderr_it)["last"].get<double>();
        m["stderr"] = se;
        m["ci95"] = {value - 1.96 * se, value + 1.96 * se};
      }
      metrics.push_back(m);
    }
    nlohmann::json e = {{"run", run["id"]},
                        {"kind", kind},
                        {"name", run.value("name", "")},
                        {"status", run.value("status", "")},
                        {"started_at", run.value("started_at", nlohmann::json())},
                        {"metrics", metrics}};
    if (kind == "gate") {
      auto passed = summaries.find("gate/passed");
      if (passed != summaries.end() && (*passed)["last"].is_number())
        e["gate_passed"] = (*passed)["last"].get<double>() > 0.5;
      const nlohmann::json params = run.value("params", nlohmann::json::object());
      if (params.contains("failed_rules")) e["failed_rules"] = params["failed_rules"];
    }
    out.push_back(e);
  }
  return out;
}

// The key of a lineage node: one per run, registry version or artifact.
std::string node_key(const nlohmann::json& node) {
  const std::string type = node.value("type", "");
  if (type == "run") return fmt::format("run:{}", node["id"].get<std::int64_t>());
  if (type == "artifact") return node.value("digest", "");
  return fmt::format("version:{}", node["id"].get<std::int64_t>());
}

std::string node_label(const nlohmann::json& node) {
  const std::string type = node.value("type", "");
  if (type == "run") {
    return fmt::format("run {} · {}{}", node["id"].get<std::int64_t>(), node.value("kind", ""),
                       node.value("name", "").empty() ? "" : " " + node.value("name", ""));
  }
  if (type == "artifact") return node.value("digest", "").substr(0, 19);
  return node.value("ref", "");
}

// Adds the node and its subtree; edges point the way data flowed.
void flatten(const nlohmann::json& node, bool up, std::map<std::string, nlohmann::json>& nodes,
             std::set<std::tuple<std::string, std::string, std::string>>& edges) {
  const std::string key = node_key(node);
  if (!nodes.contains(key)) {
    nlohmann::json n = node;
    n.erase("children");
    n.erase("seen_above");
    n.erase("role");
    n.erase("params");
    n["key"] = key;
    n["label"] = node_label(node);
    nodes[key] = n;
  }
  for (const nlohmann::json& child : node.value("children", nlohmann::json::array())) {
    const std::string child_key = node_key(child);
    const std::string role = child.value("role", "");
    if (up) {
      edges.emplace(child_key, key, role);
    } else {
      edges.emplace(key, child_key, role);
    }
    flatten(child, up, nodes, edges);
  }
}

// The first file of a dataset version's checkout holding records.
std::vector<std::filesystem::path> record_files(const std::filesystem::path& path) {
  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_regular_file(path)) return {path};
  for (const auto& entry : std::filesystem::recursive_directory_iterator(path)) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".jsonl" || ext == ".txt" || ext == ".md"))
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

Page parse_page(const Query& query) {
  Page page;
  if (std::string limit = param(query, "limit"); !limit.empty()) {
    page.limit = parse_int(limit, "limit");
    if (page.limit < 1 || page.limit > kMaxLimit)
      fail_input("limit: {} is outside 1..{}", page.limit, kMaxLimit);
  }
  if (std::string cursor = param(query, "cursor"); !cursor.empty()) {
    page.offset = parse_int(cursor, "cursor");
    if (page.offset < 0) fail_input("cursor: '{}' is not a cursor this API gave", cursor);
  }
  return page;
}

nlohmann::json page_of(const nlohmann::json& all, const Page& page) {
  nlohmann::json items = nlohmann::json::array();
  const auto n = static_cast<std::int64_t>(all.size());
  for (std::int64_t i = page.offset; i < n && i < page.offset + page.limit; ++i)
    items.push_back(all[static_cast<std::size_t>(i)]);
  nlohmann::json next = nullptr;
  if (n > page.offset + page.limit) next = std::to_string(page.offset + page.limit);
  return {{"items", items}, {"next_cursor", next}};
}

std::string body_string(const nlohmann::json& body, const std::string& field, bool optional) {
  if (!body.is_object()) fail_input("request body: expected a JSON object");
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) {
    if (optional) return "";
    fail_input("{}: missing", field);
  }
  if (!it->is_string()) fail_input("{}: expected a string", field);
  return it->get<std::string>();
}

Api::Api(std::filesystem::path workspace_root) : root_(std::move(workspace_root)) {}

nlohmann::json Api::home() const {
  store::Workspace ws(root_);
  nlohmann::json out;
  out["workspace"] = root_.filename().string();
  out["runs"] = store::list_runs(ws.db(), {.limit = 8});
  out["models"] = store::list_registry(ws.db(), store::RegistryKind::kModel);
  out["datasets"] = store::list_registry(ws.db(), store::RegistryKind::kDataset);
  std::vector<pipeline::RunRecord> waiting;
  for (pipeline::RunRecord& r : pipeline::list_runs(ws.db(), {.limit = 200})) {
    if (r.status == "waiting_approval") waiting.push_back(std::move(r));
  }
  out["waiting_approval"] = pipeline::runs_json(waiting);
  out["serving"] = nullptr;
  if (std::filesystem::exists(monitor::RequestLog::db_path(root_))) {
    out["serving"] = monitor::report_json(
        monitor::monitor_report(root_, {.since_seconds = 86400, .record = false}));
  }
  return out;
}

nlohmann::json Api::runs(const Query& query) const {
  const Page page = parse_page(query);
  store::Workspace ws(root_);
  const std::string q = param(query, "q");
  const std::string since = param(query, "since");
  std::optional<std::set<std::int64_t>> only;
  for (const char* kind : {"model", "dataset"}) {
    const std::string ref = param(query, kind);
    if (ref.empty()) continue;
    std::set<std::int64_t> ids = runs_touching(ws.db(), ref, kind);
    if (only) {
      std::set<std::int64_t> both;
      std::set_intersection(only->begin(), only->end(), ids.begin(), ids.end(),
                            std::inserter(both, both.begin()));
      ids = std::move(both);
    }
    only = std::move(ids);
  }
  const double since_time = since.empty() ? 0 : store::parse_time(since, "since");
  const bool filtered = !q.empty() || !since.empty() || only;
  store::RunFilter filter{.kind = param(query, "kind"),
                          .status = param(query, "status"),
                          .limit = filtered ? 0 : fetch_count(page)};
  if (!filter.status.empty()) store::parse_run_status(filter.status);
  nlohmann::json all = nlohmann::json::array();
  for (nlohmann::json& run : store::list_runs(ws.db(), filter)) {
    if (!contains_folded(run.value("name", ""), q)) continue;
    if (!since.empty() && store::parse_time(run.value("started_at", ""), "started_at") < since_time)
      continue;
    if (only && !only->contains(run["id"].get<std::int64_t>())) continue;
    all.push_back(std::move(run));
  }
  return page_of(all, page);
}

nlohmann::json Api::run(std::int64_t id) const {
  store::Workspace ws(root_);
  return store::show_run(ws.db(), id);
}

nlohmann::json Api::run_metrics(std::int64_t id, const Query& query) const {
  store::Workspace ws(root_);
  const nlohmann::json run = store::show_run(ws.db(), id, /*series=*/true);
  std::set<std::string> keys;
  const std::string wanted = param(query, "keys");
  for (std::size_t start = 0; start < wanted.size();) {
    const std::size_t comma = std::min(wanted.find(',', start), wanted.size());
    if (comma > start) keys.insert(wanted.substr(start, comma - start));
    start = comma + 1;
  }
  nlohmann::json out = nlohmann::json::object();
  const nlohmann::json metrics = run.value("metrics", nlohmann::json::object());
  for (const auto& [key, metric] : metrics.items()) {
    if (!keys.empty() && !keys.contains(key)) continue;
    out[key] = metric.value("series", nlohmann::json::array());
  }
  return {{"run", id}, {"metrics", out}};
}

nlohmann::json Api::compare(const Query& query) const {
  std::vector<std::int64_t> ids;
  const std::string text = param(query, "ids");
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    ids.push_back(store::parse_run_id(text.substr(start, comma - start)));
    start = comma + 1;
  }
  if (ids.size() < 2 || ids.size() > 4)
    fail_input("ids: give 2 to 4 run ids separated by commas (got {})", ids.size());
  store::Workspace ws(root_);
  return store::compare_runs(ws.db(), ids);
}

nlohmann::json Api::models(const Query& query) const {
  const Page page = parse_page(query);
  store::Workspace ws(root_);
  return page_of(store::list_registry(ws.db(), store::RegistryKind::kModel), page);
}

nlohmann::json Api::model(const std::string& name) const {
  store::Workspace ws(root_);
  nlohmann::json shown = store::show_registry(ws.db(), store::RegistryKind::kModel, name);
  for (nlohmann::json& v : shown["versions"]) {
    v["evaluations"] = evaluations(ws.db(), fmt::format("{}@{}", name, v["version"].get<int>()));
  }
  return shown;
}

nlohmann::json Api::datasets(const Query& query) const {
  const Page page = parse_page(query);
  store::Workspace ws(root_);
  return page_of(store::list_registry(ws.db(), store::RegistryKind::kDataset), page);
}

nlohmann::json Api::dataset(const std::string& name) const {
  store::Workspace ws(root_);
  nlohmann::json shown = store::show_registry(ws.db(), store::RegistryKind::kDataset, name);
  for (nlohmann::json& v : shown["versions"]) {
    auto report =
        data::read_dataset_report(ws, fmt::format("{}@{}", name, v["version"].get<int>()));
    v["report"] = report ? *report : nlohmann::json();
  }
  return shown;
}

nlohmann::json Api::dataset_samples(const std::string& name, const Query& query) const {
  const Page page = parse_page(query);
  store::Workspace ws(root_);
  const std::string version = param(query, "version");
  const std::string ref =
      version.empty() ? name : fmt::format("{}@{}", name, parse_int(version, "version"));
  const std::filesystem::path path =
      store::version_path(ws, store::RegistryKind::kDataset, ref, /*verify=*/false);
  nlohmann::json all = nlohmann::json::array();
  const std::int64_t wanted = fetch_count(page);
  for (const std::filesystem::path& file : record_files(path)) {
    std::ifstream in(file);
    std::string line;
    for (std::int64_t n = 1; std::getline(in, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (record.is_discarded()) record = line.substr(0, kMaxSampleBytes);
      all.push_back({{"file", std::filesystem::relative(file, path).string()},
                     {"line", n},
                     {"record", record}});
      if (static_cast<std::int64_t>(all.size()) >= wanted) break;
    }
    if (static_cast<std::int64_t>(all.size()) >= wanted) break;
  }
  nlohmann::json out = page_of(all, page);
  out["ref"] = store::resolve_version(ws.db(), store::RegistryKind::kDataset, ref).ref();
  return out;
}

nlohmann::json Api::lineage(const Query& query) const {
  const std::string ref = param(query, "ref");
  if (ref.empty()) fail_input("ref: missing (run:12, name@3 or sha256:...)");
  store::Workspace ws(root_);
  store::LineageOptions options{.direction = store::LineageDirection::kBoth,
                                .kind = param(query, "kind")};
  if (std::string depth = param(query, "depth"); !depth.empty()) {
    options.max_depth = static_cast<int>(parse_int(depth, "depth"));
    if (options.max_depth < 1 || options.max_depth > 64) fail_input("depth: outside 1..64");
  }
  const nlohmann::json graph = store::lineage(ws.db(), ref, options);
  std::map<std::string, nlohmann::json> nodes;
  std::set<std::tuple<std::string, std::string, std::string>> edges;
  nlohmann::json root = graph["root"];
  root["children"] = graph.value("upstream", nlohmann::json::array());
  flatten(root, /*up=*/true, nodes, edges);
  root["children"] = graph.value("downstream", nlohmann::json::array());
  flatten(root, /*up=*/false, nodes, edges);
  nlohmann::json out = {{"root", node_key(graph["root"])},
                        {"nodes", nlohmann::json::array()},
                        {"edges", nlohmann::json::array()}};
  for (auto& [key, node] : nodes) out["nodes"].push_back(node);
  for (const auto& [from, to, role] : edges)
    out["edges"].push_back({{"from", from}, {"to", to}, {"role", role}});
  return out;
}

nlohmann::json Api::requests(const Query& query) const {
  const Page page = parse_page(query);
  if (!std::filesystem::exists(monitor::RequestLog::db_path(root_)))
    return page_of(nlohmann::json::array(), page);
  monitor::RequestFilter filter;
  filter.model = param(query, "model");
  filter.key_id = param(query, "key");
  filter.finish_reason = param(query, "finish");
  if (std::string status = param(query, "status"); !status.empty())
    filter.status = static_cast<int>(parse_int(status, "status"));
  if (std::string since = param(query, "since"); !since.empty())
    filter.since = store::now_unix() - parse_number(since, "since");
  const std::string q = param(query, "q");
  filter.limit = q.empty() ? fetch_count(page) : 0;
  nlohmann::json all = nlohmann::json::array();
  for (const monitor::RequestRecord& r : monitor::query_requests(root_, filter)) {
    if (!contains_folded(r.prompt, q) && !contains_folded(r.completion, q)) continue;
    all.push_back(monitor::request_json(r));
  }
  return page_of(all, page);
}

nlohmann::json Api::serving(const Query& query) const {
  if (!std::filesystem::exists(monitor::RequestLog::db_path(root_))) return nullptr;
  monitor::ReportOptions options;
  options.record = false;
  options.model = param(query, "model");
  if (std::string since = param(query, "since"); !since.empty())
    options.since_seconds = parse_number(since, "since");
  std::int64_t windows = 24;
  if (std::string w = param(query, "windows"); !w.empty()) windows = parse_int(w, "windows");
  if (windows < 1 || windows > 1000) fail_input("windows: outside 1..1000");
  options.window_seconds = options.since_seconds / static_cast<double>(windows);
  return monitor::report_json(monitor::monitor_report(root_, options));
}

nlohmann::json Api::feedback(const Query& query) const {
  const Page page = parse_page(query);
  if (!std::filesystem::exists(monitor::RequestLog::db_path(root_)))
    return page_of(nlohmann::json::array(), page);
  const std::string status = param(query, "status");
  if (!status.empty() && status != "pending" && status != "approved" && status != "rejected")
    fail_input("status: '{}' is not one of pending, approved, rejected", status);
  const auto reviews = monitor::feedback_reviews(root_);
  auto judged = monitor::requests_with_feedback(root_);
  nlohmann::json all = nlohmann::json::array();
  for (auto it = judged.rbegin(); it != judged.rend(); ++it) {  // newest first
    const auto& [request, feedback] = *it;
    auto review = reviews.find(request.id);
    const std::string state = review == reviews.end() ? "pending" : review->second.decision;
    if (!status.empty() && state != status) continue;
    nlohmann::json f = nlohmann::json::array();
    for (const monitor::FeedbackRecord& r : feedback) {
      f.push_back(
          {{"created_at", store::format_time(r.created_at)},
           {"key_id", r.key_id},
           {"rating", r.rating ? nlohmann::json(*r.rating) : nlohmann::json()},
           {"correction", r.correction ? nlohmann::json(*r.correction) : nlohmann::json()}});
    }
    all.push_back(
        {{"request", monitor::request_json(request)},
         {"feedback", f},
         {"status", state},
         {"review", review == reviews.end() ? nlohmann::json()
                                            : monitor::feedback_review_json(review->second)}});
  }
  return page_of(all, page);
}

nlohmann::json Api::pipelines(const Query& query) const {
  const Page page = parse_page(query);
  store::Workspace ws(root_);
  const std::string status = param(query, "status");
  std::vector<pipeline::RunRecord> runs = pipeline::list_runs(
      ws.db(),
      {.pipeline = param(query, "pipeline"), .limit = status.empty() ? fetch_count(page) : 0});
  std::erase_if(runs, [&status](const pipeline::RunRecord& r) {
    return !status.empty() && r.status != status;
  });
  return page_of(pipeline::runs_json(runs), page);
}

nlohmann::json Api::pipeline_run(std::int64_t id) const {
  store::Workspace ws(root_);
  const pipeline::RunRecord run = pipeline::load_run(ws.db(), id);
  nlohmann::json out = pipeline::run_json(run);
  out["dag"] = nullptr;
  try {
    out["dag"] = pipeline::dag_json(pipeline::load_pipeline(run.file, run.params));
  } catch (const Error& e) {
    out["dag_error"] = e.what();  // the file moved or changed: stages are still listed
  }
  return out;
}

nlohmann::json Api::audit(const Query& query) const {
  const Page page = parse_page(query);
  store::Workspace ws(root_);
  std::vector<store::AuditEntry> entries =
      store::list_audit(ws.db(), {.limit = fetch_count(page), .action = param(query, "action")});
  std::reverse(entries.begin(), entries.end());  // newest first
  nlohmann::json out = page_of(store::audit_entries_json(entries), page);
  if (param(query, "verify") != "0")
    out["verification"] = store::audit_report_json(store::verify_audit(ws.db()));
  return out;
}

nlohmann::json Api::review_feedback(const nlohmann::json& body, const std::string& actor) const {
  monitor::FeedbackReview review;
  review.request_id = body_string(body, "request_id");
  review.decision = body_string(body, "decision");
  if (std::string c = body_string(body, "correction", /*optional=*/true); !c.empty())
    review.correction = c;
  review.reviewer = actor;
  store::AuditActorScope scope(actor);
  return monitor::feedback_review_json(
      monitor::review_feedback(root_, std::move(review), monitor::pii_redactor()));
}

nlohmann::json Api::export_feedback(const nlohmann::json& body) const {
  monitor::FeedbackExportOptions options;
  options.name = body_string(body, "name");
  options.approved_only = true;
  options.command = {"enclave", "ui", "feedback-export", options.name};
  const monitor::FeedbackExportResult r = monitor::export_feedback(root_, options);
  return {{"dataset", r.dataset_ref},
          {"run", r.run_id},
          {"n_sft", r.n_sft},
          {"n_preference", r.n_preference},
          {"n_requests", r.n_requests}};
}

}  // namespace enclave::ui
