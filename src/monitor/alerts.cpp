#include "monitor/alerts.h"

#include <fmt/format.h>

#include <charconv>
#include <set>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "core/yaml.h"
#include "monitor/report.h"
#include "store/clock.h"
#include "store/db.h"
#include "store/table.h"
#include "store/workspace.h"

namespace enclave::monitor {
namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t nl = text.find('\n', start);
    lines.push_back(text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return lines;
}

bool opens_key(std::string_view rest, const std::string& key) {
  return rest.starts_with(key + ":") || rest.starts_with("\"" + key + "\":") ||
         rest.starts_with("'" + key + "':");
}

// The 1-based line of rule index's field in block-style YAML (the rule's
// first line when the field is not found, 0 when the rule is not).
int line_of(const std::vector<std::string>& lines, std::size_t index, const std::string& field) {
  std::size_t item_line = 0;
  std::size_t seen = 0;
  int item_indent = -1;
  bool found = false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::size_t first = lines[i].find_first_not_of(' ');
    if (first == std::string::npos || lines[i][first] == '#') continue;
    if (std::string_view(lines[i]).substr(first).starts_with("- ") &&
        (item_indent < 0 || static_cast<int>(first) == item_indent)) {
      if (item_indent < 0) item_indent = static_cast<int>(first);
      if (seen++ == index) {
        item_line = i;
        found = true;
        break;
      }
    }
  }
  if (!found) return 0;
  if (field.empty()) return static_cast<int>(item_line) + 1;
  for (std::size_t i = item_line; i < lines.size(); ++i) {
    const std::size_t first = lines[i].find_first_not_of(' ');
    if (first == std::string::npos || lines[i][first] == '#') continue;
    std::string_view rest = std::string_view(lines[i]).substr(first);
    if (i > item_line && static_cast<int>(first) <= item_indent) break;  // the next rule
    if (i == item_line) rest.remove_prefix(2);
    if (opens_key(rest, field)) return static_cast<int>(i) + 1;
  }
  return static_cast<int>(item_line) + 1;
}

std::optional<bool> last_state(store::Db& db, const std::string& rule) {
  store::Statement q(db, "SELECT event FROM alert_events WHERE rule = ?1 ORDER BY id DESC LIMIT 1");
  q.bind(1, rule);
  if (!q.step()) return std::nullopt;
  return q.text(0) == "raised";
}

std::string condition(const AlertRule& r) {
  return fmt::format("{} {} {} over {}", r.metric, r.above ? ">" : "<", r.threshold, r.window);
}

}  // namespace

double parse_duration(std::string_view text, std::string_view what) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || !(value >= 0)) {
    fail_input("{} '{}': expected a duration such as 90s, 30m, 12h or 7d", what, text);
  }
  const std::string unit(ptr, end);
  if (unit.empty() || unit == "s") return value;
  if (unit == "m") return value * 60;
  if (unit == "h") return value * 3600;
  if (unit == "d") return value * 86400;
  fail_input("{} '{}': unknown unit '{}' (s, m, h, d)", what, text, unit);
}

AlertRule parse_alert_rule(const nlohmann::json& v, const RuleError& fail) {
  if (!v.is_object()) fail("", fmt::format("expected a mapping, got {}", json_type_name(v)));
  static const std::set<std::string> kKeys = {"name",  "metric",    "window",    "above",
                                              "below", "threshold", "direction", "model"};
  for (const auto& [key, value] : v.items()) {
    if (!kKeys.contains(key))
      fail(key,
           "unknown key (expected name, metric, window, above, below, threshold, "
           "direction or model)");
  }
  auto string_field = [&](const char* key, bool required) -> std::string {
    if (!v.contains(key)) {
      if (required) fail("", fmt::format("missing '{}'", key));
      return "";
    }
    if (!v[key].is_string())
      fail(key, fmt::format("expected a string, got {}", json_type_name(v[key])));
    return v[key].get<std::string>();
  };
  auto number_field = [&](const char* key) -> double {
    if (!v[key].is_number())
      fail(key, fmt::format("expected a number, got {}", json_type_name(v[key])));
    return v[key].get<double>();
  };
  AlertRule r;
  r.name = string_field("name", false);
  r.metric = string_field("metric", true);
  const auto& names = metric_names();
  if (std::find(names.begin(), names.end(), r.metric) == names.end()) {
    std::string list;
    for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
    fail("metric", fmt::format("unknown metric '{}' (one of: {})", r.metric, list));
  }
  r.window = string_field("window", true);
  try {
    r.window_seconds = parse_duration(r.window, "window");
  } catch (const Error& e) {
    fail("window", e.what());
  }
  if (!(r.window_seconds > 0)) fail("window", "must be longer than 0 s");
  const int given = static_cast<int>(v.contains("above")) + static_cast<int>(v.contains("below")) +
                    static_cast<int>(v.contains("threshold"));
  if (given != 1) fail("", "give exactly one of above: X, below: X or threshold: X");
  if (v.contains("threshold")) {
    r.threshold = number_field("threshold");
    const std::string direction = string_field("direction", true);
    if (direction != "above" && direction != "below")
      fail("direction", fmt::format("'{}' is not above or below", direction));
    r.above = direction == "above";
  } else {
    if (v.contains("direction")) fail("direction", "only with threshold:");
    r.above = v.contains("above");
    r.threshold = number_field(r.above ? "above" : "below");
  }
  r.model = string_field("model", false);
  if (r.name.empty()) r.name = r.metric;
  return r;
}

std::vector<AlertRule> load_alert_rules(const std::filesystem::path& file) {
  if (!std::filesystem::exists(file))
    fail(ErrorKind::kNotFound, "{}: no such alert rules file", file.string());
  const std::string text = read_file(file);
  const nlohmann::json doc = parse_yaml(text, file.string());
  const std::vector<std::string> lines = split_lines(text);
  auto top_error = [&](const std::string& reason) {
    fail_input("{}: alerts: {}", file.string(), reason);
  };
  if (!doc.is_object() || !doc.contains("alerts"))
    top_error("expected a mapping with a list under 'alerts:'");
  for (const auto& [key, value] : doc.items()) {
    if (key != "alerts") fail_input("{}: {}: unknown key (expected alerts)", file.string(), key);
  }
  if (!doc["alerts"].is_array())
    top_error("expected a list of rules, got " + json_type_name(doc["alerts"]));
  std::vector<AlertRule> rules;
  std::set<std::string> names;
  for (std::size_t i = 0; i < doc["alerts"].size(); ++i) {
    const RuleError fail = [&](const std::string& field, const std::string& reason) {
      std::string where = fmt::format("alerts[{}]{}", i, field.empty() ? "" : "." + field);
      if (const int line = line_of(lines, i, field); line > 0)
        where += fmt::format(" (line {})", line);
      fail_input("{}: {}: {}", file.string(), where, reason);
    };
    AlertRule r = parse_alert_rule(doc["alerts"][i], fail);
    if (!names.insert(r.name).second)
      fail("name", fmt::format("rule name '{}' is used twice (name each rule)", r.name));
    rules.push_back(std::move(r));
  }
  return rules;
}

AlertResult evaluate_alert(const std::filesystem::path& root, const AlertRule& rule,
                           std::optional<double> now) {
  const double at = now.value_or(store::now_unix());
  const std::map<std::string, double> metrics =
      current_metrics(root, rule.window_seconds, rule.model, at);
  AlertResult result{.rule = rule};
  if (auto it = metrics.find(rule.metric); it != metrics.end()) result.value = it->second;
  store::Workspace ws(root);
  store::WriteTransaction tx(ws.db());
  const bool was_firing = last_state(ws.db(), rule.name).value_or(false);
  result.firing = was_firing;
  if (result.value) {
    result.firing = rule.above ? *result.value > rule.threshold : *result.value < rule.threshold;
    if (result.firing != was_firing) {
      result.event = result.firing ? "raised" : "cleared";
      store::Statement ins(ws.db(),
                           "INSERT INTO alert_events (rule, metric, model, event, value, threshold,"
                           " direction, window_seconds, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
                           " ?8, ?9)");
      ins.bind(1, rule.name).bind(2, rule.metric).bind(3, rule.model).bind(4, result.event);
      ins.bind(5, *result.value).bind(6, rule.threshold).bind(7, rule.above ? "above" : "below");
      ins.bind(8, rule.window_seconds).bind(9, at).run();
    }
  }
  tx.commit();
  return result;
}

std::vector<AlertEvent> alert_events(const std::filesystem::path& root, const std::string& rule) {
  store::Workspace ws(root);
  store::Statement q(ws.db(),
                     "SELECT id, rule, event, value, threshold, direction, at FROM alert_events"
                     " WHERE ?1 = '' OR rule = ?1 ORDER BY id");
  q.bind(1, rule);
  std::vector<AlertEvent> out;
  while (q.step()) {
    AlertEvent e;
    e.id = q.int64(0);
    e.rule = q.text(1);
    e.event = q.text(2);
    if (!q.is_null(3)) e.value = q.real(3);
    e.threshold = q.real(4);
    e.above = q.text(5) == "above";
    e.at = q.real(6);
    out.push_back(std::move(e));
  }
  return out;
}

nlohmann::json alerts_json(const std::vector<AlertResult>& results) {
  nlohmann::json out = nlohmann::json::array();
  for (const AlertResult& r : results) {
    out.push_back({{"name", r.rule.name},
                   {"metric", r.rule.metric},
                   {"window", r.rule.window},
                   {"direction", r.rule.above ? "above" : "below"},
                   {"threshold", r.rule.threshold},
                   {"model", r.rule.model},
                   {"value", r.value ? nlohmann::json(*r.value) : nlohmann::json(nullptr)},
                   {"state", r.firing ? "firing" : "ok"},
                   {"event", r.event}});
  }
  return out;
}

std::string format_alerts(const std::vector<AlertResult>& results) {
  store::Table table(
      {{"rule"}, {"condition"}, {"value", store::Align::kRight}, {"state"}, {"event"}});
  for (const AlertResult& r : results) {
    table.add_row({r.rule.name, condition(r.rule),
                   r.value ? fmt::format("{:.4g}", *r.value) : std::string("no data"),
                   r.firing ? "FIRING" : "ok", r.event.empty() ? "-" : r.event});
  }
  return table.render();
}

}  // namespace enclave::monitor
