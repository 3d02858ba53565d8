// RequestLog: every served request, kept in the workspace for monitoring,
// feedback and retraining: .enclave/serve/requests.db (SQLite, WAL, its own
// file so a busy server never holds the registry's write lock; the path and
// schema are those the server wrote before the log moved to monitor, so
// existing workspaces still read). A row holds
// id, time, key id, endpoint, model and model version, prompt, completion,
// token counts, time to first token, latency, finish reason and HTTP status.
// Prompt and completion pass through the redactor (PII -> "<EMAIL>", ...)
// before they are stored; rows older than the retention period are deleted
// (at open and hourly). Feedback (a rating in [-1, 1] and/or a corrected
// answer) is stored against a request id.
//
// Writes are queued and committed in batches by one writer thread, so a
// request never waits for an fsync. flush() waits for the queue.
// Thread safety: every method may be called from any thread; each call that
// reads opens its own connection.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace enclave::monitor {

// Text in, text with personal data replaced out.
using Redactor = std::function<std::string(std::string_view)>;

// The default redactor: text/pii.h with its default options (every PII type
// replaced by its placeholder, "<EMAIL>", "<RRN>", ...).
Redactor pii_redactor();

// The prompt of a record, redacted: a chat prompt (messages as JSON) value by
// value, so the result is JSON again; any other prompt as text.
std::string redact_prompt(std::string_view endpoint, const std::string& prompt,
                          const Redactor& redactor);

struct RequestRecord {
  std::string id;             // "chatcmpl-...", "cmpl-..."
  double created_at = 0;      // seconds since the epoch
  std::string key_id;         // "" without API keys
  std::string endpoint;       // "chat.completions" | "completions"
  std::string model;          // the name requested
  std::string model_version;  // "name@3" or the directory
  std::optional<std::int64_t> model_version_id;
  std::optional<std::int64_t> adapter_version_id;  // a registered adapter served on top
  std::string prompt;                              // completion prompt, or chat messages as JSON
  std::string completion;
  int prompt_tokens = 0;
  int completion_tokens = 0;
  double ttft_seconds = 0;
  double latency_seconds = 0;
  std::string finish_reason;  // stop | length | cancelled | timeout | error | refused (4xx)
  int status = 200;
};

struct FeedbackRecord {
  std::string request_id;
  double created_at = 0;
  std::string key_id;
  std::optional<double> rating;  // -1 .. 1
  std::optional<std::string> correction;
};

struct RequestFilter {
  std::optional<double> since;  // created_at >= since
  std::string model;            // model or model_version equal, "" = any
  std::string key_id;
  std::string finish_reason;
  std::optional<int> status;
  std::int64_t limit = 50;  // newest first
};

struct RequestLogOptions {
  Redactor redactor;           // null: stored as given
  double retention_days = 30;  // <= 0: keep forever
};

class RequestLog {
 public:
  // Opens (creating) <workspace_root>/.enclave/serve/requests.db. Throws
  // Error(kIo) if it cannot be opened, Error(kInvalidInput) for a database
  // of a newer format.
  RequestLog(const std::filesystem::path& workspace_root, RequestLogOptions options);
  // Flushes, then stops the writer.
  ~RequestLog();
  RequestLog(const RequestLog&) = delete;
  RequestLog& operator=(const RequestLog&) = delete;

  static std::filesystem::path db_path(const std::filesystem::path& workspace_root);

  // Queues a record (redacted here, on the caller's thread). Never blocks on I/O.
  void record(RequestRecord record);
  // Waits until every queued record is committed. Throws Error(kIo) if the
  // writer failed.
  void flush();

  // Stores feedback. Throws Error(kNotFound) for an unknown request id,
  // Error(kInvalidInput) for a rating outside [-1, 1] or neither rating
  // nor correction. The correction is redacted too.
  void add_feedback(FeedbackRecord feedback);

  // Deletes rows older than the retention period (an audited "purge"
  // when there were any, with SQLite's secure_delete on); returns how many.
  std::int64_t purge_expired();

 private:
  void writer_loop();
  void write_batch(std::vector<RequestRecord>& batch);

  std::filesystem::path workspace_root_;
  std::filesystem::path path_;
  RequestLogOptions options_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::condition_variable drained_;
  std::deque<RequestRecord> queue_;
  std::size_t writing_ = 0;
  std::string writer_error_;
  bool stop_ = false;
  std::thread writer_;
};

// Reading the log of a workspace (for `enclave monitor requests` and the
// feedback export); they open the database read-write but change nothing.
// Throws Error(kNotFound) if the workspace has no request log yet.
std::vector<RequestRecord> query_requests(const std::filesystem::path& workspace_root,
                                          const RequestFilter& filter);
// Every request that has feedback, with its feedback (latest first within a
// request), oldest request first.
std::vector<std::pair<RequestRecord, std::vector<FeedbackRecord>>> requests_with_feedback(
    const std::filesystem::path& workspace_root);

// Erasure (`enclave monitor purge`): which requests to delete. Both set:
// requests matching both.
struct RequestPurge {
  std::string key_id;            // requests made with this API key, and its feedback
  std::optional<double> before;  // requests (and feedback) created before this time
};

struct RequestPurgeResult {
  std::int64_t requests = 0;  // request rows deleted
  std::int64_t feedback = 0;  // feedback rows deleted (on those requests, or given by the key)
};

// Hard-deletes the requests purge names, the feedback on them and, with a
// key, the feedback given with that key: with secure_delete on, then VACUUM
// and a TRUNCATE checkpoint, so their text is gone from the bytes of
// requests.db and its -wal file (store/db.h scrub_deleted). Audited as a
// "purge" of "request log" in the same step (a keyed audit log without its
// key refuses before anything is deleted). Records still queued by a running
// server are written after it. Throws Error(kInvalidInput) if neither field
// is set, Error(kNotFound) if the workspace has no request log, Error(kIo)
// if another process kept the log busy past the busy timeout.
RequestPurgeResult purge_requests(const std::filesystem::path& workspace_root,
                                  const RequestPurge& purge);

nlohmann::json request_json(const RequestRecord& record);
// One line per request: time, id, key, model version, status, finish,
// tokens in/out, ttft, latency, and the start of the prompt.
std::string format_requests(const std::vector<RequestRecord>& records);

}  // namespace enclave::monitor
