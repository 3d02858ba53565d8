#include "monitor/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "core/error.h"
#include "store/clock.h"
#include "store/db.h"
#include "store/registry.h"
#include "store/runs.h"
#include "store/table.h"
#include "store/workspace.h"

namespace enclave::monitor {
namespace {

constexpr std::int64_t kMaxWindows = 10000;

// How refusals open, lower-cased; the apostrophe comes in two forms.
constexpr std::string_view kRefusalOpenings[] = {
    "i'm sorry",  "i’m sorry", "i am sorry",      "sorry, i can",    "i cannot",    "i can't",
    "i can’t",    "i can not", "i won't",         "i won’t",         "i am unable", "i'm unable",
    "i’m unable", "as an ai",  "i'm not able to", "i am not able to"};

std::map<std::string, RequestFeedback> read_feedback(const std::filesystem::path& root,
                                                     double since) {
  std::map<std::string, RequestFeedback> out;
  for (const auto& [request, rows] : requests_with_feedback(root)) {
    if (request.created_at < since) continue;
    RequestFeedback& f = out[request.id];
    f.any = true;
    for (const FeedbackRecord& row : rows) {  // latest first
      if (row.rating) {
        f.rating = row.rating;
        break;
      }
    }
  }
  return out;
}

// The registered model version drift is measured against, or "" with why not.
std::string drift_model(store::Workspace& workspace, const std::string& model,
                        const std::vector<RequestRecord>& records, std::string& note) {
  if (!model.empty()) {
    try {
      return store::resolve_version(workspace.db(), store::RegistryKind::kModel, model).ref();
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kNotFound) throw;
      note = fmt::format("'{}' is not a registered model version", model);
      return "";
    }
  }
  std::set<std::int64_t> ids;
  for (const RequestRecord& r : records) {
    if (!r.model_version_id) {
      note = fmt::format("requests were served from a folder ({}), not a registered version",
                         r.model_version);
      return "";
    }
    ids.insert(*r.model_version_id);
  }
  if (ids.size() != 1) {
    note = ids.empty() ? "no requests"
                       : "requests were served by several model versions; pass --model";
    return "";
  }
  store::Statement q(workspace.db(), "SELECT name, version FROM registry_versions WHERE id = ?1");
  q.bind(1, *ids.begin());
  if (!q.step()) {
    note = "the serving model version is no longer registered";
    return "";
  }
  return fmt::format("{}@{}", q.text(0), q.int64(1));
}

struct Period {
  std::vector<RequestRecord> records;
  std::map<std::string, RequestFeedback> feedback;
};

Period read_period(const std::filesystem::path& root, double start, const std::string& model) {
  RequestFilter filter;
  filter.since = start;
  filter.model = model;
  filter.limit = 0;
  Period p;
  p.records = query_requests(root, filter);
  p.feedback = read_feedback(root, start);
  return p;
}

std::string format_value(const std::string& name, double v) {
  if (name == "serve.requests") return fmt::format("{:.0f}", v);
  return fmt::format("{:.4g}", v);
}

}  // namespace

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> names = {
      "serve.requests",          "serve.error_rate",     "serve.latency_p50",
      "serve.latency_p95",       "serve.latency_p99",    "serve.ttft_p50",
      "serve.tokens_per_second", "serve.empty_rate",     "serve.refused_rate",
      "feedback.rate",           "feedback.mean_rating", "feedback.negative_rate",
      "drift.length_psi",        "drift.unigram_psi",    "drift.unigram_js"};
  return names;
}

std::optional<double> percentile(std::vector<double> values, double p) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const double h = p * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (h - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

bool is_refusal(std::string_view completion) {
  std::string head;
  std::size_t i = 0;
  while (i < completion.size() && std::isspace(static_cast<unsigned char>(completion[i]))) ++i;
  for (; i < completion.size() && head.size() < 32; ++i)
    head += static_cast<char>(std::tolower(static_cast<unsigned char>(completion[i])));
  for (std::string_view opening : kRefusalOpenings) {
    if (head.starts_with(opening)) return true;
  }
  return false;
}

WindowFigures measure_window(const std::vector<RequestRecord>& records,
                             const std::map<std::string, RequestFeedback>& feedback, double start,
                             double end, const TextProfile* reference) {
  WindowFigures w;
  w.start = start;
  w.end = end;
  std::vector<double> latency, ttft;
  double tokens = 0, seconds = 0;
  std::int64_t errors = 0, answered = 0, empty = 0, refused = 0;
  std::int64_t with_feedback = 0, rated = 0, negative = 0;
  double rating_sum = 0;
  TextProfile live;
  if (reference != nullptr) live.tokenizer = reference->tokenizer;
  for (const RequestRecord& r : records) {
    if (r.created_at < start || r.created_at >= end) continue;
    ++w.requests;
    if (reference != nullptr) live.add(prompt_text(r));
    if (auto f = feedback.find(r.id); f != feedback.end() && f->second.any) {
      ++with_feedback;
      if (f->second.rating) {
        ++rated;
        rating_sum += *f->second.rating;
        if (*f->second.rating < 0) ++negative;
      }
    }
    if (r.status >= 400) {
      ++errors;
      ++w.errors_by_status[r.status];
      continue;
    }
    ++answered;
    latency.push_back(r.latency_seconds);
    ttft.push_back(r.ttft_seconds);
    tokens += r.completion_tokens;
    seconds += r.latency_seconds;
    if (r.completion.find_first_not_of(" \t\r\n") == std::string::npos) {
      ++empty;
    } else if (is_refusal(r.completion)) {
      ++refused;
    }
  }
  auto& m = w.metrics;
  auto share = [](std::int64_t part, std::int64_t whole) {
    return static_cast<double>(part) / static_cast<double>(whole);
  };
  m["serve.requests"] = static_cast<double>(w.requests);
  if (w.requests > 0) {
    m["serve.error_rate"] = share(errors, w.requests);
    m["feedback.rate"] = share(with_feedback, w.requests);
  }
  if (answered > 0) {
    m["serve.latency_p50"] = *percentile(latency, 0.50);
    m["serve.latency_p95"] = *percentile(latency, 0.95);
    m["serve.latency_p99"] = *percentile(latency, 0.99);
    m["serve.ttft_p50"] = *percentile(ttft, 0.50);
    if (seconds > 0) m["serve.tokens_per_second"] = tokens / seconds;
    m["serve.empty_rate"] = share(empty, answered);
    m["serve.refused_rate"] = share(refused, answered);
  }
  if (rated > 0) {
    m["feedback.mean_rating"] = rating_sum / static_cast<double>(rated);
    m["feedback.negative_rate"] = share(negative, rated);
  }
  if (reference != nullptr) {
    if (auto d = drift(*reference, live)) {
      m["drift.length_psi"] = d->length_psi;
      m["drift.unigram_psi"] = d->unigram_psi;
      m["drift.unigram_js"] = d->unigram_js;
    }
  }
  return w;
}

Report monitor_report(const std::filesystem::path& workspace_root, const ReportOptions& options) {
  if (!(options.since_seconds > 0)) fail_input("--since: the period must be longer than 0 s");
  if (options.window_seconds < 0) fail_input("--window: must be longer than 0 s");
  const double window = options.window_seconds > 0 ? options.window_seconds : options.since_seconds;
  const double n_windows_real = std::ceil(options.since_seconds / window);
  if (n_windows_real > kMaxWindows) {
    fail_input("--window {}s over --since {}s makes {} windows (at most {})", window,
               options.since_seconds, n_windows_real, kMaxWindows);
  }
  Report report;
  report.end = options.now.value_or(store::now_unix());
  report.start = report.end - options.since_seconds;
  report.model = options.model;
  const Period period = read_period(workspace_root, report.start, options.model);

  store::Workspace workspace(workspace_root);
  DriftReference reference;
  report.drift_model = drift_model(workspace, options.model, period.records, report.drift_note);
  if (!report.drift_model.empty()) {
    reference = training_reference(workspace, report.drift_model);
    report.drift_sources = reference.sources;
    report.drift_unit = reference.unit;
    if (reference.sources.empty()) {
      report.drift_note =
          fmt::format("the lineage of {} names no training dataset", report.drift_model);
    }
  }
  const TextProfile* ref = reference.profile.n_texts > 0 ? &reference.profile : nullptr;
  if (ref == nullptr && report.drift_note.empty() && !report.drift_model.empty())
    report.drift_note = "the training data holds no text";

  const auto n_windows = static_cast<std::int64_t>(n_windows_real);
  for (std::int64_t k = 0; k < n_windows; ++k) {
    const double start = report.start + static_cast<double>(k) * window;
    // The last window ends at now (inclusive of requests logged this instant).
    const double end = k + 1 == n_windows ? report.end + 1e-6 : start + window;
    report.windows.push_back(measure_window(period.records, period.feedback, start, end, ref));
    report.windows.back().end = std::min(end, report.end);
  }

  if (options.record) {
    store::Run run(workspace_root,
                   {.kind = "monitor",
                    .name = options.model.empty() ? "report" : "report " + options.model,
                    .params = {{"since_seconds", options.since_seconds},
                               {"window_seconds", window},
                               {"model", options.model},
                               {"drift_model", report.drift_model},
                               {"drift_sources", report.drift_sources},
                               {"drift_unit", report.drift_unit}}});
    for (std::size_t i = 0; i < reference.source_version_ids.size(); ++i)
      run.log_input_version(reference.source_version_ids[i], "drift_reference");
    for (std::size_t k = 0; k < report.windows.size(); ++k) {
      for (const auto& [name, value] : report.windows[k].metrics)
        run.log_metric(name, value, static_cast<std::int64_t>(k), report.windows[k].end);
    }
    run.finish();
    report.run_id = run.id();
  }
  return report;
}

std::map<std::string, double> current_metrics(const std::filesystem::path& workspace_root,
                                              double window_seconds, const std::string& model,
                                              std::optional<double> now) {
  const Report r = monitor_report(workspace_root, {.since_seconds = window_seconds,
                                                   .window_seconds = window_seconds,
                                                   .model = model,
                                                   .now = now,
                                                   .record = false});
  return r.windows.empty() ? std::map<std::string, double>{} : r.windows.back().metrics;
}

nlohmann::json report_json(const Report& report) {
  nlohmann::json windows = nlohmann::json::array();
  for (const WindowFigures& w : report.windows) {
    nlohmann::json errors = nlohmann::json::object();
    for (const auto& [status, n] : w.errors_by_status) errors[std::to_string(status)] = n;
    nlohmann::json metrics = nlohmann::json::object();
    for (const auto& [name, value] : w.metrics) metrics[name] = value;
    windows.push_back({{"start", store::format_time(w.start)},
                       {"end", store::format_time(w.end)},
                       {"errors_by_status", errors},
                       {"metrics", metrics}});
  }
  nlohmann::json j = {{"start", store::format_time(report.start)},
                      {"end", store::format_time(report.end)},
                      {"model", report.model},
                      {"drift_model", report.drift_model},
                      {"drift_sources", report.drift_sources},
                      {"drift_unit", report.drift_unit},
                      {"windows", windows}};
  if (!report.drift_note.empty()) j["drift_note"] = report.drift_note;
  if (report.run_id) j["run_id"] = *report.run_id;
  return j;
}

std::string format_report(const Report& report) {
  std::vector<store::Table::Column> columns = {{"metric"}};
  for (const WindowFigures& w : report.windows)
    columns.push_back({store::format_time(w.start), store::Align::kRight});
  store::Table table(std::move(columns));
  auto row_of = [&](const std::string& label, auto cell) {
    std::vector<std::string> row = {label};
    for (const WindowFigures& w : report.windows) row.push_back(cell(w));
    table.add_row(std::move(row));
  };
  for (const std::string& name : metric_names()) {
    row_of(name, [&](const WindowFigures& w) {
      auto it = w.metrics.find(name);
      return it == w.metrics.end() ? std::string("-") : format_value(name, it->second);
    });
  }
  row_of("serve.errors_by_status", [](const WindowFigures& w) {
    std::string s;
    for (const auto& [status, n] : w.errors_by_status)
      s += fmt::format("{}{}:{}", s.empty() ? "" : " ", status, n);
    return s.empty() ? std::string("-") : s;
  });
  std::string out = fmt::format("monitor report {} .. {}{}\n", store::format_time(report.start),
                                store::format_time(report.end),
                                report.model.empty() ? "" : " model " + report.model);
  if (!report.drift_sources.empty()) {
    std::string sources;
    for (const std::string& s : report.drift_sources) sources += (sources.empty() ? "" : ", ") + s;
    out += fmt::format("drift of {} against its training data, in {}: {}\n", report.drift_model,
                       report.drift_unit, sources);
  } else if (!report.drift_note.empty()) {
    out += fmt::format("no drift figures: {}\n", report.drift_note);
  }
  out += table.render();
  if (report.run_id) out += fmt::format("recorded as run {}\n", *report.run_id);
  return out;
}

}  // namespace enclave::monitor
