// `enclave monitor requests`: list and filter the server's request log;
// `enclave monitor report`: figures per window, recorded as a monitor run;
// `enclave monitor purge`: erase requests by API key or age.
#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "monitor/alerts.h"
#include "monitor/report.h"
#include "monitor/request_log.h"
#include "store/clock.h"
#include "store/iso_time.h"

namespace enclave::cli {
namespace {

struct RequestsFlags {
  std::string workspace;
  std::string since;
  monitor::RequestFilter filter;
  int status = 0;
  bool json = false;
};

struct PurgeFlags {
  std::string workspace;
  std::string key;
  std::string before;
  bool json = false;
};

struct AlertsFlags {
  std::string workspace;
  std::string rules;
  bool json = false;
};

struct ReportFlags {
  std::string workspace;
  std::string since = "24h";
  std::string window;
  std::string model;
  bool json = false;
};

double parse_duration(const std::string& text, std::string_view flag = "--since") {
  return monitor::parse_duration(text, flag);
}

void run_report(const ReportFlags& flags) {
  monitor::ReportOptions options;
  options.since_seconds = parse_duration(flags.since);
  if (!flags.window.empty()) options.window_seconds = parse_duration(flags.window, "--window");
  if (!flags.window.empty() && options.window_seconds <= 0)
    fail_input("--window '{}': must be longer than 0 s", flags.window);
  options.model = flags.model;
  const monitor::Report report = monitor::monitor_report(workspace_root(flags.workspace), options);
  if (flags.json) {
    fmt::print("{}\n", monitor::report_json(report).dump(2));
  } else {
    fmt::print("{}", monitor::format_report(report));
  }
}

void run_requests(RequestsFlags& flags) {
  monitor::RequestFilter filter = flags.filter;
  if (!flags.since.empty()) filter.since = store::now_unix() - parse_duration(flags.since);
  if (flags.status != 0) filter.status = flags.status;
  const std::vector<monitor::RequestRecord> records =
      monitor::query_requests(workspace_root(flags.workspace), filter);
  if (flags.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : records) out.push_back(monitor::request_json(r));
    fmt::print("{}\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    fmt::print("{}", monitor::format_requests(records));
  }
}

void run_purge(const PurgeFlags& flags) {
  monitor::RequestPurge purge;
  purge.key_id = flags.key;
  if (!flags.before.empty()) purge.before = store::parse_time(flags.before, "--before");
  const monitor::RequestPurgeResult result =
      monitor::purge_requests(workspace_root(flags.workspace), purge);
  nlohmann::json out = {{"requests", result.requests}, {"feedback", result.feedback}};
  if (!purge.key_id.empty()) out["key"] = purge.key_id;
  if (purge.before) out["before"] = store::format_time(*purge.before);
  if (flags.json) {
    fmt::print("{}\n", out.dump(2));
    return;
  }
  std::string which;
  if (!purge.key_id.empty()) which += fmt::format(" made with key {}", purge.key_id);
  if (purge.before) {
    which +=
        fmt::format("{} before {}", which.empty() ? "" : " and", store::format_time(*purge.before));
  }
  fmt::print(
      "purged {} request(s){} and {} feedback row(s) from the request log; the database was "
      "scrubbed (secure_delete, VACUUM, WAL truncated)\n",
      result.requests, which, result.feedback);
}

void run_alerts(const AlertsFlags& flags) {
  const std::vector<monitor::AlertRule> rules = monitor::load_alert_rules(flags.rules);
  const std::filesystem::path root = workspace_root(flags.workspace);
  std::vector<monitor::AlertResult> results;
  for (const monitor::AlertRule& rule : rules)
    results.push_back(monitor::evaluate_alert(root, rule));
  if (flags.json) {
    fmt::print("{}\n", monitor::alerts_json(results).dump(2));
  } else {
    fmt::print("{}", monitor::format_alerts(results));
  }
}

}  // namespace

void register_monitor(CLI::App& app) {
  CLI::App* group = app.add_subcommand("monitor");
  group->require_subcommand(1);
  auto flags = std::make_shared<RequestsFlags>();
  CLI::App* cmd = group->add_subcommand(
      "requests", "List served requests, newest first (from the request log)");
  cmd->add_option("--since", flags->since, "Only requests this recent: 90s, 30m, 12h, 7d");
  cmd->add_option("--model", flags->filter.model, "Only this model name or version (name@3)");
  cmd->add_option("--key", flags->filter.key_id, "Only requests made with this API key id");
  cmd->add_option("--status", flags->status, "Only this HTTP status")->check(CLI::Range(100, 599));
  cmd->add_option("--finish", flags->filter.finish_reason, "Only this finish reason")
      ->check(CLI::IsMember({"stop", "length", "cancelled", "timeout", "error"}));
  cmd->add_option("--limit", flags->filter.limit, "Most rows (0: all)")
      ->check(CLI::Range(0, 1 << 30))
      ->capture_default_str();
  cmd->add_flag("--json", flags->json, "Print JSON (full prompts and completions)");
  add_workspace_flag(*cmd, flags->workspace);
  cmd->callback([flags] { run_requests(*flags); });

  auto report = std::make_shared<ReportFlags>();
  CLI::App* rep = group->add_subcommand(
      "report",
      "Requests, errors, latency, feedback and prompt drift per window, recorded as a monitor run");
  rep->add_option("--since", report->since, "The period, ending now: 90s, 30m, 12h, 7d")
      ->capture_default_str();
  rep->add_option("--window", report->window, "Window length (default: the whole period)");
  rep->add_option("--model", report->model,
                  "Only this model name or version (name@3); drift against its training data");
  rep->add_flag("--json", report->json, "Print JSON");
  add_workspace_flag(*rep, report->workspace);
  rep->callback([report] { run_report(*report); });

  auto purge = std::make_shared<PurgeFlags>();
  CLI::App* pu = group->add_subcommand(
      "purge",
      "Erase requests from the request log (hard delete, for erasure requests and data "
      "minimisation): those made with an API key (--key, with the feedback given with it), "
      "those older than a date (--before) or both; the log's database is scrubbed "
      "(secure_delete, VACUUM, WAL truncated) so their text is gone from its bytes. Audited");
  pu->add_option("--key", purge->key, "The API key id whose requests go");
  pu->add_option("--before", purge->before,
                 "Requests created before this ISO 8601 date or date-time go (2024-06-01, "
                 "2024-06-01T12:00:00Z; UTC unless an offset is given)");
  pu->add_flag("--json", purge->json, "Print what was removed as JSON");
  add_workspace_flag(*pu, purge->workspace);
  pu->callback([purge] { run_purge(*purge); });

  auto alerts = std::make_shared<AlertsFlags>();
  CLI::App* al = group->add_subcommand(
      "alerts", "Evaluate alert rules on the latest figures; record raised and cleared events");
  al->add_option("--rules", alerts->rules, "The rules file (alerts.yaml)")->required();
  al->add_flag("--json", alerts->json, "Print JSON");
  add_workspace_flag(*al, alerts->workspace);
  al->callback([alerts] { run_alerts(*alerts); });
}

}  // namespace enclave::cli
