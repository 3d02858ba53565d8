// The audit log: every change to a workspace (init, register, alias move,
// unalias, tag, delete, gc, ...) appended with its time, OS user, action,
// object and the hash of the previous entry, so editing, inserting or
// deleting an entry breaks the chain and `enclave audit verify` reports
// where. audit_head keeps the newest entry's hash, which catches deleting the
// newest entries too.
// The chain proves integrity against edits through SQLite, not against an
// attacker who rewrites the whole chain and head: for that, keep the head
// hash (`enclave audit list --json`) somewhere else as well.
// Thread safety: operates on one Db; see db.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

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
};

// Appends one entry. Must run inside the caller's WriteTransaction, so the
// entry commits together with the change it records (ENCLAVE_CHECK).
void append_audit(Db& db, std::string_view action, std::string_view object,
                  const nlohmann::json& details = nlohmann::json::object());

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
  std::string head_hash;
  std::vector<AuditProblem> problems;
  bool ok() const { return problems.empty(); }
};
// Walks the whole chain and reports every break; never throws for a broken
// chain (only for SQLite failures).
AuditReport verify_audit(Db& db);

nlohmann::json audit_entries_json(const std::vector<AuditEntry>& entries);
std::string format_audit_entries(const std::vector<AuditEntry>& entries);
nlohmann::json audit_report_json(const AuditReport& report);
std::string format_audit_report(const AuditReport& report);

// The hash an entry must carry: sha256 over its fields and prev_hash.
std::string audit_entry_hash(const AuditEntry& entry);

}  // namespace enclave::store
