#include "monitor/request_log.h"

#include <fmt/format.h>

#include "core/error.h"
#include "monitor/request_db.h"
#include "store/audit.h"
#include "store/clock.h"
#include "store/db.h"
#include "store/db_maintenance.h"
#include "store/table.h"
#include "store/workspace.h"
#include "text/pii.h"

namespace enclave::monitor {
namespace {

constexpr int kFormatVersion = 1;
constexpr double kPurgeIntervalSeconds = 3600;
constexpr std::size_t kMaxRetained = 100000;  // records kept for retry while writes fail
constexpr auto kRetryDelay = std::chrono::seconds(1);

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
  id TEXT PRIMARY KEY,
  created_at REAL NOT NULL,
  key_id TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  model TEXT NOT NULL,
  model_version TEXT NOT NULL,
  model_version_id INTEGER,
  prompt TEXT NOT NULL,
  completion TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  ttft REAL NOT NULL,
  latency REAL NOT NULL,
  finish_reason TEXT NOT NULL,
  status INTEGER NOT NULL,
  adapter_version_id INTEGER);
CREATE INDEX IF NOT EXISTS requests_created ON requests(created_at);
CREATE TABLE IF NOT EXISTS feedback (
  id INTEGER PRIMARY KEY,
  request_id TEXT NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
  created_at REAL NOT NULL,
  key_id TEXT NOT NULL,
  rating REAL,
  correction TEXT);
CREATE INDEX IF NOT EXISTS feedback_request ON feedback(request_id);
CREATE TABLE IF NOT EXISTS feedback_reviews (
  request_id TEXT PRIMARY KEY REFERENCES requests(id) ON DELETE CASCADE,
  decision TEXT NOT NULL,
  correction TEXT,
  reviewed_at REAL NOT NULL,
  reviewer TEXT NOT NULL);
)sql";

constexpr const char* kColumns =
    "id, created_at, key_id, endpoint, model, model_version, model_version_id, prompt, completion, "
    "prompt_tokens, completion_tokens, ttft, latency, finish_reason, status, adapter_version_id";

}  // namespace

std::unique_ptr<store::Db> open_request_db(const std::filesystem::path& path, bool create) {
  if (!create && !std::filesystem::exists(path)) {
    fail(ErrorKind::kNotFound, "{}: no request log yet (start `enclave serve` in this workspace)",
         path.string());
  }
  auto db = std::make_unique<store::Db>(path, store::DbOptions{.create = create});
  db->exec(kSchema);
  // Logs written before adapters were linked lack the column; adding it
  // keeps them readable by older programs too (they name their columns).
  auto has_adapter = [&db] {
    for (store::Statement info(*db, "PRAGMA table_info(requests)"); info.step();) {
      if (info.text(1) == "adapter_version_id") return true;
    }
    return false;
  };
  if (!has_adapter()) {
    try {
      db->exec("ALTER TABLE requests ADD COLUMN adapter_version_id INTEGER");
    } catch (const Error&) {
      if (!has_adapter()) throw;  // else another process added it first
    }
  }
  store::Statement get(*db, "SELECT value FROM meta WHERE key = 'format_version'");
  if (get.step()) {
    const std::string v = get.text(0);
    if (v != std::to_string(kFormatVersion)) {
      fail_input("{}: request log format version {} is not supported (expected {})", path.string(),
                 v, kFormatVersion);
    }
  } else {
    db->prepare("INSERT OR IGNORE INTO meta(key, value) VALUES ('format_version', ?1)")
        .bind(1, kFormatVersion)
        .run();
  }
  return db;
}

namespace {

RequestRecord read_record(const store::Statement& s) {
  RequestRecord r;
  r.id = s.text(0);
  r.created_at = s.real(1);
  r.key_id = s.text(2);
  r.endpoint = s.text(3);
  r.model = s.text(4);
  r.model_version = s.text(5);
  r.model_version_id = s.optional_int64(6);
  r.prompt = s.text(7);
  r.completion = s.text(8);
  r.prompt_tokens = static_cast<int>(s.int64(9));
  r.completion_tokens = static_cast<int>(s.int64(10));
  r.ttft_seconds = s.real(11);
  r.latency_seconds = s.real(12);
  r.finish_reason = s.text(13);
  r.status = static_cast<int>(s.int64(14));
  r.adapter_version_id = s.optional_int64(15);
  return r;
}

// Each string inside a JSON value, redacted in place.
void redact_strings(nlohmann::json& value, const Redactor& redactor) {
  if (value.is_string()) {
    value = redactor(value.get_ref<const std::string&>());
  } else if (value.is_structured()) {
    for (nlohmann::json& item : value) redact_strings(item, redactor);
  }
}

}  // namespace

std::string redact_prompt(std::string_view endpoint, const std::string& prompt,
                          const Redactor& redactor) {
  // A chat prompt is its messages as JSON. Redacting that text would see
  // escapes ("\n" before a number hides it; an e-mail after it becomes
  // "\<EMAIL>", invalid JSON), so the values are redacted and serialised again.
  if (endpoint == "chat.completions") {
    nlohmann::json messages = nlohmann::json::parse(prompt, nullptr, /*allow_exceptions=*/false);
    if (!messages.is_discarded()) {
      redact_strings(messages, redactor);
      return messages.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  return redactor(prompt);
}

Redactor pii_redactor() {
  return [](std::string_view text) { return redact_pii(text).text; };
}

std::filesystem::path RequestLog::db_path(const std::filesystem::path& workspace_root) {
  return workspace_root / store::kDotDir / "serve" / "requests.db";
}

RequestLog::RequestLog(const std::filesystem::path& workspace_root, RequestLogOptions options)
    : workspace_root_(workspace_root),
      path_(db_path(workspace_root)),
      options_(std::move(options)) {
  store::ensure_real_dir(path_.parent_path());
  open_request_db(path_, /*create=*/true);
  purge_expired();
  writer_ = std::thread([this] { writer_loop(); });
}

RequestLog::~RequestLog() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  writer_.join();
}

void RequestLog::record(RequestRecord record) {
  if (options_.redactor) {
    record.prompt = redact_prompt(record.endpoint, record.prompt, options_.redactor);
    record.completion = options_.redactor(record.completion);
  }
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(record));
  }
  cv_.notify_all();
}

void RequestLog::flush() {
  std::unique_lock lock(mutex_);
  drained_.wait(lock, [&] { return (queue_.empty() && writing_ == 0) || !writer_error_.empty(); });
  if (!writer_error_.empty())
    fail(ErrorKind::kIo, "{}: request log writer failed: {}", path_.string(), writer_error_);
}

void RequestLog::writer_loop() {
  std::unique_ptr<store::Db> db;
  double last_purge = store::now_unix();
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait_for(lock, std::chrono::seconds(60), [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty() && stop_) break;
    std::vector<RequestRecord> batch(std::make_move_iterator(queue_.begin()),
                                     std::make_move_iterator(queue_.end()));
    queue_.clear();
    writing_ = batch.size();
    lock.unlock();
    std::string error;
    try {
      if (!db) db = open_request_db(path_, /*create=*/true);
      if (!batch.empty()) {
        store::WriteTransaction tx(*db);
        store::Statement insert(
            *db,
            fmt::format("INSERT OR REPLACE INTO requests ({}) VALUES "
                        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                        kColumns));
        for (const RequestRecord& r : batch) {
          insert.bind(1, r.id)
              .bind(2, r.created_at)
              .bind(3, r.key_id)
              .bind(4, r.endpoint)
              .bind(5, r.model);
          insert.bind(6, r.model_version)
              .bind(7, r.model_version_id)
              .bind(8, r.prompt)
              .bind(9, r.completion);
          insert.bind(10, r.prompt_tokens).bind(11, r.completion_tokens).bind(12, r.ttft_seconds);
          insert.bind(13, r.latency_seconds).bind(14, r.finish_reason).bind(15, r.status);
          insert.bind(16, r.adapter_version_id);
          insert.run();
          insert.reset();
        }
        tx.commit();
      }
      if (store::now_unix() - last_purge > kPurgeIntervalSeconds) {
        purge_expired();
        last_purge = store::now_unix();
      }
    } catch (const std::exception& e) {
      error = e.what();
      db.reset();
    }
    lock.lock();
    writing_ = 0;
    if (error.empty()) {
      writer_error_.clear();
    } else {
      // A failed write (disk full, a lock held too long, a damaged file) is
      // retried with the records kept, so a passing fault loses nothing and
      // the log recovers by itself; at most kMaxRetained wait meanwhile.
      writer_error_ = error;
      queue_.insert(queue_.begin(), std::make_move_iterator(batch.begin()),
                    std::make_move_iterator(batch.end()));
      while (queue_.size() > kMaxRetained) queue_.pop_front();
      drained_.notify_all();
      if (stop_) break;
      cv_.wait_for(lock, kRetryDelay, [&] { return stop_; });
      continue;
    }
    drained_.notify_all();
  }
  drained_.notify_all();
}

void RequestLog::add_feedback(FeedbackRecord feedback) {
  if (feedback.rating && !(*feedback.rating >= -1.0 && *feedback.rating <= 1.0)) {
    fail_input("rating: {} is out of range [-1, 1]", *feedback.rating);
  }
  if (!feedback.rating && !feedback.correction)
    fail_input("feedback needs a rating, a correction or both");
  if (feedback.correction && options_.redactor)
    feedback.correction = options_.redactor(*feedback.correction);
  flush();  // the request may still be queued
  std::unique_ptr<store::Db> db = open_request_db(path_, /*create=*/false);
  // One write transaction from the start: a read upgraded to a write while
  // the server logs requests fails at once with SQLITE_BUSY instead of waiting.
  store::WriteTransaction tx(*db);
  {
    store::Statement find(*db, "SELECT 1 FROM requests WHERE id = ?1");
    find.bind(1, feedback.request_id);
    if (!find.step())
      fail(ErrorKind::kNotFound, "no request with id '{}' in the request log", feedback.request_id);
  }
  store::Statement insert(
      *db,
      "INSERT INTO feedback(request_id, created_at, key_id, rating, correction) "
      "VALUES (?1, ?2, ?3, ?4, ?5)");
  insert.bind(1, feedback.request_id)
      .bind(2, feedback.created_at > 0 ? feedback.created_at : store::now_unix());
  insert.bind(3, feedback.key_id).bind(4, feedback.rating).bind(5, feedback.correction);
  insert.run();
  tx.commit();
}

std::int64_t RequestLog::purge_expired() {
  if (options_.retention_days <= 0) return 0;
  std::unique_ptr<store::Db> db = open_request_db(path_, /*create=*/true);
  store::set_secure_delete(*db);
  const double cutoff = store::now_unix() - options_.retention_days * 86400.0;
  store::WriteTransaction tx(*db);
  db->prepare(
        "DELETE FROM feedback WHERE request_id IN (SELECT id FROM requests WHERE created_at < ?1)")
      .bind(1, cutoff)
      .run();
  db->prepare("DELETE FROM requests WHERE created_at < ?1").bind(1, cutoff).run();
  const std::int64_t n = db->changes();
  tx.commit();
  if (n > 0) {
    // Deleting requests is a change to the workspace like any other.
    store::Workspace workspace(workspace_root_);
    store::WriteTransaction audit_tx(workspace.db());
    store::append_audit(workspace.db(), "purge", "request log",
                        {{"requests", n}, {"retention_days", options_.retention_days}});
    audit_tx.commit();
  }
  return n;
}

RequestPurgeResult purge_requests(const std::filesystem::path& workspace_root,
                                  const RequestPurge& purge) {
  if (purge.key_id.empty() && !purge.before)
    fail_input("purge: name the requests to delete with --key ID, --before DATE or both");
  // The workspace first: its audit entry commits before the deletion does, so
  // a log that cannot be audited (a keyed log without its key) loses nothing.
  store::Workspace workspace(workspace_root);
  std::unique_ptr<store::Db> db =
      open_request_db(RequestLog::db_path(workspace_root), /*create=*/false);
  store::set_secure_delete(*db);
  std::string where = "1";
  if (!purge.key_id.empty()) where += " AND key_id = ?1";
  if (purge.before) where += " AND created_at < ?2";
  auto bind = [&](store::Statement& s) -> store::Statement& {
    if (!purge.key_id.empty()) s.bind(1, purge.key_id);
    if (purge.before) s.bind(2, *purge.before);
    return s;
  };
  RequestPurgeResult result;
  store::WriteTransaction audit_tx(workspace.db());
  {
    store::WriteTransaction tx(*db);
    store::Statement feedback(
        *db, "DELETE FROM feedback WHERE request_id IN (SELECT id FROM requests WHERE " + where +
                 ")" + (purge.key_id.empty() ? "" : " OR (" + where + ")"));
    bind(feedback).run();
    result.feedback = db->changes();
    store::Statement requests(*db, "DELETE FROM requests WHERE " + where);
    bind(requests).run();
    result.requests = db->changes();
    nlohmann::json details = {{"requests", result.requests}, {"feedback", result.feedback}};
    if (!purge.key_id.empty()) details["key_id"] = purge.key_id;
    if (purge.before) details["before"] = store::format_time(*purge.before);
    store::append_audit(workspace.db(), "purge", "request log", details);
    tx.commit();
  }
  audit_tx.commit();
  store::scrub_deleted(*db);
  return result;
}

std::vector<RequestRecord> query_requests(const std::filesystem::path& workspace_root,
                                          const RequestFilter& filter) {
  std::unique_ptr<store::Db> db =
      open_request_db(RequestLog::db_path(workspace_root), /*create=*/false);
  std::string sql = fmt::format("SELECT {} FROM requests WHERE created_at >= ?1", kColumns);
  if (!filter.model.empty()) sql += " AND (model = ?2 OR model_version = ?2)";
  if (!filter.key_id.empty()) sql += " AND key_id = ?3";
  if (!filter.finish_reason.empty()) sql += " AND finish_reason = ?4";
  if (filter.status) sql += " AND status = ?5";
  sql += " ORDER BY created_at DESC, id LIMIT ?6";
  store::Statement s(*db, sql);
  s.bind(1, filter.since.value_or(0.0));
  if (!filter.model.empty()) s.bind(2, filter.model);
  if (!filter.key_id.empty()) s.bind(3, filter.key_id);
  if (!filter.finish_reason.empty()) s.bind(4, filter.finish_reason);
  if (filter.status) s.bind(5, *filter.status);
  s.bind(6, filter.limit > 0 ? filter.limit : std::int64_t{-1});
  std::vector<RequestRecord> out;
  while (s.step()) out.push_back(read_record(s));
  return out;
}

std::vector<std::pair<RequestRecord, std::vector<FeedbackRecord>>> requests_with_feedback(
    const std::filesystem::path& workspace_root) {
  std::unique_ptr<store::Db> db =
      open_request_db(RequestLog::db_path(workspace_root), /*create=*/false);
  std::string columns;
  for (std::string_view c :
       {"r.id", "r.created_at", "r.key_id", "r.endpoint", "r.model", "r.model_version",
        "r.model_version_id", "r.prompt", "r.completion", "r.prompt_tokens", "r.completion_tokens",
        "r.ttft", "r.latency", "r.finish_reason", "r.status", "r.adapter_version_id"}) {
    columns += (columns.empty() ? "" : ", ") + std::string(c);
  }
  store::Statement s(
      *db, fmt::format("SELECT {}, f.created_at, f.key_id, f.rating, f.correction FROM requests r "
                       "JOIN feedback f ON f.request_id = r.id "
                       "ORDER BY r.created_at, r.id, f.created_at DESC, f.id DESC",
                       columns));
  std::vector<std::pair<RequestRecord, std::vector<FeedbackRecord>>> out;
  while (s.step()) {
    RequestRecord r = read_record(s);
    if (out.empty() || out.back().first.id != r.id)
      out.emplace_back(std::move(r), std::vector<FeedbackRecord>{});
    FeedbackRecord f;
    f.request_id = out.back().first.id;
    f.created_at = s.real(16);
    f.key_id = s.text(17);
    if (!s.is_null(18)) f.rating = s.real(18);
    f.correction = s.optional_text(19);
    out.back().second.push_back(std::move(f));
  }
  return out;
}

nlohmann::json request_json(const RequestRecord& r) {
  nlohmann::json j = {{"id", r.id},
                      {"created_at", store::format_time(r.created_at)},
                      {"key_id", r.key_id},
                      {"endpoint", r.endpoint},
                      {"model", r.model},
                      {"model_version", r.model_version},
                      {"prompt", r.prompt},
                      {"completion", r.completion},
                      {"prompt_tokens", r.prompt_tokens},
                      {"completion_tokens", r.completion_tokens},
                      {"ttft_seconds", r.ttft_seconds},
                      {"latency_seconds", r.latency_seconds},
                      {"finish_reason", r.finish_reason},
                      {"status", r.status}};
  return j;
}

std::string format_requests(const std::vector<RequestRecord>& records) {
  using store::Align;
  store::Table table({{"time"},
                      {"id"},
                      {"key"},
                      {"model"},
                      {"status", Align::kRight},
                      {"finish"},
                      {"in", Align::kRight},
                      {"out", Align::kRight},
                      {"ttft", Align::kRight},
                      {"latency", Align::kRight},
                      {"prompt"}});
  for (const RequestRecord& r : records) {
    // Cut between characters: a byte cut splits Hangul into U+FFFD.
    table.add_row({store::format_time(r.created_at), r.id, r.key_id.empty() ? "-" : r.key_id,
                   r.model_version, std::to_string(r.status), r.finish_reason,
                   std::to_string(r.prompt_tokens), std::to_string(r.completion_tokens),
                   fmt::format("{:.3f}s", r.ttft_seconds),
                   fmt::format("{:.3f}s", r.latency_seconds), store::shorten(r.prompt, 40)});
  }
  return table.render();
}

}  // namespace enclave::monitor
