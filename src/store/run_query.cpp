#include "store/run_query.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "core/error.h"
#include "core/json.h"
#include "store/artifacts.h"
#include "store/clock.h"
#include "store/names.h"
#include "store/table.h"

namespace enclave::store {
namespace {

constexpr const char* kRunColumns =
    "id, kind, name, status, started_at, ended_at, command, params, program_version, build_id,"
    " host, user, pid, seed, message, log_path, cwd, heartbeat_at";

nlohmann::json metric_value(Statement& q, int column) {
  if (q.is_null(column)) return nullptr;  // NaN is stored as NULL
  double v = q.real(column);
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(fmt::format("{}", v));
}

nlohmann::json parse_stored(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? nlohmann::json(text) : j;
}

nlohmann::json run_summary(Statement& q) {
  double started = q.real(4);
  std::optional<double> ended;
  if (!q.is_null(5)) ended = q.real(5);
  nlohmann::json r = {
      {"id", q.int64(0)},
      {"kind", q.text(1)},
      {"name", q.text(2)},
      {"status", q.text(3)},
      {"started_at", format_time(started)},
      {"ended_at", ended ? nlohmann::json(format_time(*ended)) : nlohmann::json(nullptr)},
      {"duration_s", ended ? nlohmann::json(*ended - started) : nlohmann::json(nullptr)}};
  return r;
}

nlohmann::json final_metrics(Db& db, std::int64_t id) {
  // SQLite takes the bare column `value` from the row holding MAX(step).
  Statement q(
      db, "SELECT key, value, MAX(step) FROM metrics WHERE run_id = ?1 GROUP BY key ORDER BY key");
  q.bind(1, id);
  nlohmann::json out = nlohmann::json::object();
  while (q.step()) out[q.text(0)] = metric_value(q, 1);
  return out;
}

std::string value_text(const nlohmann::json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return fmt::format("{:.6g}", v.get<double>());
  return v.dump();
}

// {"optim": {"lr": 1}} -> {"optim.lr": 1}, so nested params compare key by key.
void flatten(const nlohmann::json& j, const std::string& prefix,
             std::map<std::string, nlohmann::json>& out) {
  if (j.is_object() && !j.empty()) {
    for (const auto& [k, v] : j.items()) flatten(v, prefix.empty() ? k : prefix + "." + k, out);
  } else {
    out[prefix] = j;
  }
}

nlohmann::json io_list(Db& db, std::int64_t id, const char* direction) {
  Statement q(db,
              "SELECT io.role, io.artifact, v.id, v.kind, v.name, v.version, v.artifact, "
              "v.deleted_at IS NOT NULL"
              " FROM run_io io LEFT JOIN registry_versions v ON v.id = io.version_id"
              " WHERE io.run_id = ?1 AND io.direction = ?2 ORDER BY io.id");
  q.bind(1, id).bind(2, direction);
  nlohmann::json out = nlohmann::json::array();
  while (q.step()) {
    nlohmann::json e = {{"role", q.text(0)}};
    if (!q.is_null(1)) {
      e["artifact"] = q.text(1);
      if (auto a = find_artifact(db, q.text(1))) {
        e["kind"] = to_string(a->kind);
        e["size"] = a->size;
      }
    } else {
      e["version"] = {{"id", q.int64(2)},
                      {"kind", q.text(3)},
                      {"name", q.text(4)},
                      {"version", q.int64(5)},
                      {"artifact", q.text(6)}};
      if (q.int64(7) != 0) e["version"]["deleted"] = true;
    }
    out.push_back(e);
  }
  return out;
}

std::string io_text(const nlohmann::json& e) {
  std::string out;
  if (e.contains("version")) {
    const auto& v = e["version"];
    out = fmt::format("{} {}@{}", v["kind"].get<std::string>(), v["name"].get<std::string>(),
                      v["version"].get<std::int64_t>());
    if (v.value("deleted", false)) out += " (deleted)";
  } else {
    out = fmt::format("artifact {}", e["artifact"].get<std::string>());
    if (e.contains("size")) {
      out += fmt::format(" ({}, {})", e["kind"].get<std::string>(),
                         format_bytes(e["size"].get<std::uint64_t>()));
    }
  }
  if (!e["role"].get<std::string>().empty())
    out += fmt::format(" [{}]", e["role"].get<std::string>());
  return out;
}

}  // namespace

std::int64_t parse_run_id(std::string_view text) {
  std::string_view digits = text.starts_with("run:") ? text.substr(4) : text;
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || id < 1) {
    fail_input("run id '{}': expected a positive integer such as 12 (or run:12)", printable(text));
  }
  return id;
}

nlohmann::json list_runs(Db& db, const RunFilter& filter) {
  std::string sql = fmt::format("SELECT {} FROM runs WHERE 1 = 1", kRunColumns);
  if (!filter.kind.empty()) sql += " AND kind = ?1";
  if (!filter.status.empty()) sql += " AND status = ?2";
  sql += " ORDER BY id DESC";
  if (filter.limit > 0) sql += fmt::format(" LIMIT {}", filter.limit);
  Statement q(db, sql);
  if (!filter.kind.empty()) q.bind(1, filter.kind);
  if (!filter.status.empty()) q.bind(2, filter.status);
  nlohmann::json out = nlohmann::json::array();
  while (q.step()) out.push_back(run_summary(q));
  for (auto& r : out) r["metrics"] = final_metrics(db, r["id"].get<std::int64_t>());
  return out;
}

std::string format_runs_list(const nlohmann::json& runs) {
  if (runs.empty()) return "no runs\n";
  Table table({{"ID", Align::kRight},
               {"KIND"},
               {"NAME"},
               {"STATUS"},
               {"STARTED"},
               {"TIME", Align::kRight},
               {"METRICS"}});
  for (const auto& r : runs) {
    std::string metrics;
    int shown = 0;
    for (const auto& [k, v] : r["metrics"].items()) {
      if (shown++ == 3) {
        metrics += " ...";
        break;
      }
      metrics += fmt::format("{}{}={}", metrics.empty() ? "" : " ", k, value_text(v));
    }
    std::string duration =
        r["duration_s"].is_null() ? "-" : format_elapsed(r["duration_s"].get<double>());
    table.add_row({std::to_string(r["id"].get<std::int64_t>()), r["kind"].get<std::string>(),
                   shorten(r["name"].get<std::string>(), 40), r["status"].get<std::string>(),
                   r["started_at"].get<std::string>(), duration, metrics});
  }
  return table.render();
}

nlohmann::json show_run(Db& db, std::int64_t id, bool series) {
  ReadTransaction snapshot(db);
  Statement q(db, fmt::format("SELECT {} FROM runs WHERE id = ?1", kRunColumns));
  q.bind(1, id);
  if (!q.step()) fail(ErrorKind::kNotFound, "run {} not found in this workspace", id);
  nlohmann::json r = run_summary(q);
  r["command"] = parse_stored(q.text(6));
  r["params"] = parse_stored(q.text(7));
  r["program_version"] = q.text(8);
  r["build_id"] = q.text(9);
  r["host"] = q.text(10);
  r["user"] = q.text(11);
  r["pid"] = q.int64(12);
  r["seed"] = q.is_null(13) ? nlohmann::json(nullptr) : nlohmann::json(q.int64(13));
  r["message"] = q.text(14);
  r["log_path"] = q.text(15);
  r["cwd"] = q.text(16);
  r["heartbeat_at"] = format_time(q.real(17));
  r["inputs"] = io_list(db, id, "input");
  r["outputs"] = io_list(db, id, "output");
  {
    Statement v(db,
                "SELECT kind, name, version, deleted_at IS NOT NULL FROM registry_versions WHERE "
                "run_id = ?1"
                " ORDER BY id");
    v.bind(1, id);
    nlohmann::json registered = nlohmann::json::array();
    while (v.step()) {
      registered.push_back({{"kind", v.text(0)}, {"name", v.text(1)}, {"version", v.int64(2)}});
      if (v.int64(3) != 0) registered.back()["deleted"] = true;
    }
    r["registered"] = registered;
  }
  nlohmann::json metrics = nlohmann::json::object();
  Statement stats(db,
                  "SELECT key, COUNT(*), MIN(value), MAX(value), MAX(step) FROM metrics"
                  " WHERE run_id = ?1 GROUP BY key ORDER BY key");
  stats.bind(1, id);
  while (stats.step()) {
    metrics[stats.text(0)] = {{"n", stats.int64(1)},
                              {"min", metric_value(stats, 2)},
                              {"max", metric_value(stats, 3)},
                              {"last_step", stats.int64(4)}};
  }
  nlohmann::json last = final_metrics(db, id);
  for (auto& [k, m] : metrics.items()) m["last"] = last.value(k, nlohmann::json(nullptr));
  if (series) {
    Statement points(
        db,
        "SELECT key, step, value, time FROM metrics WHERE run_id = ?1 ORDER BY key, step, time");
    points.bind(1, id);
    while (points.step()) {
      metrics[points.text(0)]["series"].push_back(
          nlohmann::json::array({points.int64(1), metric_value(points, 2), points.real(3)}));
    }
  }
  r["metrics"] = metrics;
  return r;
}

std::string format_run(const nlohmann::json& r) {
  std::string out =
      fmt::format("run {}  {}  {}  {}\n", r["id"].get<std::int64_t>(), r["kind"].get<std::string>(),
                  r["name"].get<std::string>().empty() ? "-" : r["name"].get<std::string>(),
                  r["status"].get<std::string>());
  auto line = [&out](std::string_view label, const std::string& value) {
    if (!value.empty()) out += fmt::format("  {:<9} {}\n", label, value);
  };
  std::string when = r["started_at"].get<std::string>();
  if (!r["ended_at"].is_null()) {
    when += fmt::format(" -> {} ({})", r["ended_at"].get<std::string>(),
                        format_elapsed(r["duration_s"].get<double>()));
  }
  line("time", when);
  std::string command;
  for (const auto& arg : r["command"]) command += (command.empty() ? "" : " ") + value_text(arg);
  line("command", command);
  line("program", r["program_version"].get<std::string>() +
                      (r["build_id"].get<std::string>().empty()
                           ? ""
                           : " (build " + r["build_id"].get<std::string>() + ")"));
  line("host", fmt::format("{} (pid {}, user {})", r["host"].get<std::string>(),
                           r["pid"].get<std::int64_t>(), r["user"].get<std::string>()));
  if (!r["seed"].is_null()) line("seed", std::to_string(r["seed"].get<std::int64_t>()));
  line("message", r["message"].get<std::string>());
  line("log", r["log_path"].get<std::string>());
  std::map<std::string, nlohmann::json> params;
  flatten(r["params"], "", params);
  if (!params.empty()) {
    out += "params\n";
    for (const auto& [k, v] : params) out += fmt::format("  {} = {}\n", k, value_text(v));
  }
  for (const char* dir : {"inputs", "outputs"}) {
    if (r[dir].empty()) continue;
    out += fmt::format("{}\n", dir);
    for (const auto& e : r[dir]) out += fmt::format("  {}\n", io_text(e));
  }
  if (!r["registered"].empty()) {
    out += "registered\n";
    for (const auto& v : r["registered"]) {
      out += fmt::format("  {} {}@{}{}\n", v["kind"].get<std::string>(),
                         v["name"].get<std::string>(), v["version"].get<std::int64_t>(),
                         v.value("deleted", false) ? " (deleted)" : "");
    }
  }
  if (!r["metrics"].empty()) {
    Table table({{"KEY"},
                 {"LAST", Align::kRight},
                 {"STEP", Align::kRight},
                 {"MIN", Align::kRight},
                 {"MAX", Align::kRight},
                 {"N", Align::kRight}});
    for (const auto& [k, m] : r["metrics"].items()) {
      table.add_row({k, value_text(m["last"]), std::to_string(m["last_step"].get<std::int64_t>()),
                     value_text(m["min"]), value_text(m["max"]),
                     std::to_string(m["n"].get<std::int64_t>())});
    }
    out += "metrics\n";
    const std::string rendered = table.render();
    for (std::size_t start = 0; start < rendered.size();) {
      std::size_t end = rendered.find('\n', start);
      if (end == std::string::npos) end = rendered.size();
      out += "  " + rendered.substr(start, end - start) + "\n";
      start = end + 1;
    }
  }
  return out;
}

nlohmann::json compare_runs(Db& db, const std::vector<std::int64_t>& ids) {
  if (ids.size() < 2) fail_input("runs compare: give at least two run ids");
  nlohmann::json runs = nlohmann::json::array();
  std::vector<std::map<std::string, nlohmann::json>> params(ids.size());
  std::vector<nlohmann::json> metrics(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    nlohmann::json r = show_run(db, ids[i]);
    runs.push_back(
        {{"id", r["id"]}, {"kind", r["kind"]}, {"name", r["name"]}, {"status", r["status"]}});
    flatten(r["params"], "", params[i]);
    for (const auto& [k, m] : r["metrics"].items()) metrics[i][k] = m["last"];
  }
  auto side_by_side = [&](auto value_of, const std::vector<std::string>& keys) {
    nlohmann::json rows = nlohmann::json::array();
    for (const std::string& key : keys) {
      nlohmann::json values = nlohmann::json::array();
      for (std::size_t i = 0; i < ids.size(); ++i) values.push_back(value_of(i, key));
      bool differs = std::any_of(values.begin(), values.end(),
                                 [&](const nlohmann::json& v) { return v != values[0]; });
      rows.push_back({{"key", key}, {"values", values}, {"differs", differs}});
    }
    return rows;
  };
  std::vector<std::string> param_keys, metric_keys;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    for (const auto& [k, v] : params[i]) param_keys.push_back(k);
    for (const auto& [k, v] : metrics[i].items()) metric_keys.push_back(k);
  }
  for (auto* keys : {&param_keys, &metric_keys}) {
    std::sort(keys->begin(), keys->end());
    keys->erase(std::unique(keys->begin(), keys->end()), keys->end());
  }
  nlohmann::json out;
  out["runs"] = runs;
  out["params"] = side_by_side(
      [&](std::size_t i, const std::string& k) {
        auto it = params[i].find(k);
        return it == params[i].end() ? nlohmann::json(nullptr) : it->second;
      },
      param_keys);
  out["metrics"] = side_by_side(
      [&](std::size_t i, const std::string& k) {
        return metrics[i].value(k, nlohmann::json(nullptr));
      },
      metric_keys);
  return out;
}

std::string format_compare(const nlohmann::json& c) {
  std::size_t width = 8;
  std::size_t value_width = 0;  // the value columns size to the widest value
  for (const auto& r : c["runs"]) {
    value_width = std::max(value_width, fmt::format("run {}", r["id"].get<std::int64_t>()).size());
  }
  auto widen = [&](const nlohmann::json& rows) {
    for (const auto& row : rows) {
      width = std::max(width, row["key"].get<std::string>().size());
      for (const auto& v : row["values"]) {
        value_width = std::max(value_width, display_width(value_text(v)));
      }
    }
  };
  widen(c["params"]);
  widen(c["metrics"]);
  width = std::min<std::size_t>(width, 40);
  value_width = std::min<std::size_t>(value_width, 40);
  std::string out = fmt::format("  {:<{}}", "", width);
  for (const auto& r : c["runs"]) {
    out += fmt::format("  {:>{}}", fmt::format("run {}", r["id"].get<std::int64_t>()), value_width);
  }
  out += "\n";
  auto section = [&](const char* title, const nlohmann::json& rows) {
    out += fmt::format("{}\n", title);
    if (rows.empty()) out += "  (none)\n";
    for (const auto& row : rows) {
      out += fmt::format("{} {:<{}}", row["differs"].get<bool>() ? "*" : " ",
                         row["key"].get<std::string>(), width);
      for (const auto& v : row["values"]) {
        out += fmt::format("  {:>{}}", shorten(value_text(v), value_width), value_width);
      }
      out += "\n";
    }
  };
  section("params", c["params"]);
  section("metrics (last value)", c["metrics"]);
  out += "* = differs between runs\n";
  return out;
}

}  // namespace enclave::store
