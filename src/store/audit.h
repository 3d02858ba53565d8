// The audit log: every change to a workspace (init, register, alias move,
// unalias, tag, delete, gc, runs, reloads, API key changes, purges, ...)
// appended with its time, OS user, actor (the OS user, or "key:<id>" for a
// server action made with an API key), action, object and the hash of the previous
// entry, so editing, inserting or deleting an entry breaks the chain and
// `enclave audit verify` reports where. audit_head (and the audit.head file
// beside the database) keeps the newest entry's hash, which catches
// deleting the newest entries too; a missing head is a problem.
// Keyed logs (audit_key.h): with a key, entries carry HMAC-SHA256 instead of
// a plain sha256, so rewriting the log needs the key, and once a log has a
// keyed entry every later one must be keyed. Existing unkeyed logs migrate
// by themselves: the first keyed entry's MAC covers the hash of the last
// plain one, sealing everything before it. A signed anchor kept elsewhere
// (audit_anchor.h) catches even a rewrite by someone holding the key.
// Thread safety: operates on one Db; see db.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "store/audit_key.h"
#include "store/db.h"

namespace enclave::store {

struct AuditEntry {
  std::int64_t seq = 0;
  std::string time;  // ISO 8601 UTC
  std::string user;
  std::string action;   // "init", "register", "alias", "unalias", "tag", "delete", "gc", ...
  std::string object;   // what changed: "model llama@3", a workspace path
  std::string details;  // JSON object text
  std::string prev_hash;
  std::string hash;
  std::string actor;  // OS user or "key:<id>"; "" in entries older than schema 5
};

// Appends one entry. Must run inside the caller's WriteTransaction, so the
// entry commits together with the change it records (ENCLAVE_CHECK).
void append_audit(Db& db, std::string_view action, std::string_view object,
                  const nlohmann::json& details = nlohmann::json::object());

// The actor of the entries this process appends from now on (default: the
// OS user). Thread-safe.
void set_audit_actor(std::string actor);
// The actor of the entries this thread appends while the object lives (a
// server request made with an API key: "key:<id>"); an empty actor leaves
// the process's in force. Nests.
class AuditActorScope {
 public:
  explicit AuditActorScope(std::string actor);
  ~AuditActorScope();
  AuditActorScope(const AuditActorScope&) = delete;
  AuditActorScope& operator=(const AuditActorScope&) = delete;

 private:
  std::string previous_;
};

struct AuditQuery {
  std::int64_t limit = 0;  // newest N entries; 0 = all
  std::string action;      // only this action; empty = all
};
// Entries oldest first.
std::vector<AuditEntry> list_audit(Db& db, const AuditQuery& query = {});

struct AuditProblem {
  std::int64_t seq = 0;
  std::string reason;
};
struct AuditReport {
  std::int64_t n_entries = 0;
  std::int64_t head_seq = 0;
  std::string head_hash;
  std::vector<AuditProblem> problems;
  bool ok() const { return problems.empty(); }
};
// Walks the whole chain and reports every break: sequence gaps, broken
// links, entries whose hash or MAC does not match (MACs are checked with
// audit_key(); without it a keyed log is reported unverifiable), a plain
// entry after keyed ones, with the key a newest entry without a MAC, a
// missing or contradicting head (row or audit.head file), and registry rows
// the log does not explain (a version without its register entry or with
// another artifact, a deletion without its entry, an alias the log never
// moved there). Never throws for a broken chain (only for SQLite failures
// and a bad key file).
AuditReport verify_audit(Db& db);

nlohmann::json audit_entries_json(const std::vector<AuditEntry>& entries);
std::string format_audit_entries(const std::vector<AuditEntry>& entries);
nlohmann::json audit_report_json(const AuditReport& report);
std::string format_audit_report(const AuditReport& report);

// The hash an unkeyed entry carries: sha256 over its fields and prev_hash.
std::string audit_entry_hash(const AuditEntry& entry);
// The MAC a keyed entry carries: "hmac-sha256:" + HMAC over the same fields.
std::string audit_entry_mac(const AuditEntry& entry, const AuditKey& key);

}  // namespace enclave::store
