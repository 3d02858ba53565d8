#include "store/audit.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "core/error.h"
#include "core/file.h"
#include "core/hash.h"
#include "store/audit_key.h"
#include "store/clock.h"
#include "store/process_info.h"
#include "store/table.h"
#include "store/upsert.h"

namespace enclave::store {
namespace {

const std::string kGenesis(64, '0');

AuditEntry read_entry(Statement& q) {
  AuditEntry e;
  e.seq = q.int64(0);
  e.time = q.text(1);
  e.user = q.text(2);
  e.action = q.text(3);
  e.object = q.text(4);
  e.details = q.text(5);
  e.prev_hash = q.text(6);
  e.hash = q.text(7);
  e.actor = q.text(8);
  return e;
}

constexpr const char* kColumns = "seq, time, user, action, object, details, prev_hash, hash, actor";

// The actor of entries: a thread's own (a server request made with a key)
// before the process's, before the OS user.
std::mutex actor_mutex;
std::string process_actor;
thread_local std::string thread_actor;

std::string current_actor() {
  if (!thread_actor.empty()) return thread_actor;
  {
    std::lock_guard lock(actor_mutex);
    if (!process_actor.empty()) return process_actor;
  }
  return os_user();
}

}  // namespace

namespace {

// A JSON array gives every field an unambiguous boundary. The actor joins
// the hashed fields when it is set: entries from before it existed (schema
// 5) have none and keep their hashes.
std::string entry_fields(const AuditEntry& entry) {
  nlohmann::json fields = {entry.seq,    entry.time,    entry.user,     entry.action,
                           entry.object, entry.details, entry.prev_hash};
  if (!entry.actor.empty()) fields.push_back(entry.actor);
  return fields.dump();
}

bool is_keyed(std::string_view hash) { return hash.starts_with(kMacPrefix); }

std::string head_mac(const AuditKey& key, std::int64_t seq, const std::string& hash) {
  return audit_mac(key, fmt::format("audit.head\n{}\n{}", seq, hash));
}

}  // namespace

std::string audit_entry_hash(const AuditEntry& entry) { return sha256_hex(entry_fields(entry)); }

std::string audit_entry_mac(const AuditEntry& entry, const AuditKey& key) {
  return audit_mac(key, entry_fields(entry));
}

namespace {

// A copy of the head outside the database, so that deleting the newest
// entries and rewinding audit_head through SQLite is still caught. Written
// after the commit, it may lag the log (a crash in between, or two writers
// finishing out of order) but never runs ahead of it.
std::filesystem::path anchor_path(const Db& db) { return db.path().parent_path() / "audit.head"; }

struct Anchor {
  std::int64_t seq = 0;
  std::string hash;
  std::string mac;  // "" when written without the key
};

std::optional<Anchor> read_anchor(const Db& db) {
  std::error_code ec;
  if (!std::filesystem::exists(anchor_path(db), ec)) return std::nullopt;
  nlohmann::json j =
      nlohmann::json::parse(read_file(anchor_path(db)), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("seq") || !j["seq"].is_number_integer() ||
      !j.contains("hash") || !j["hash"].is_string()) {
    return Anchor{-1, "", ""};
  }
  return Anchor{j["seq"].get<std::int64_t>(), j["hash"].get<std::string>(),
                j.value("mac", std::string())};
}

void write_anchor(const Db& db, std::int64_t seq, const std::string& hash,
                  const std::optional<AuditKey>& key) {
  std::optional<Anchor> current = read_anchor(db);
  if (current && current->seq >= seq) return;
  nlohmann::json head = {{"seq", seq}, {"hash", hash}};
  if (key) head["mac"] = head_mac(*key, seq, hash);
  write_file_atomic(anchor_path(db), head.dump() + "\n");
}

}  // namespace

void append_audit(Db& db, std::string_view action, std::string_view object,
                  const nlohmann::json& details) {
  ENCLAVE_CHECK(db.in_transaction());
  const std::optional<AuditKey>& key = audit_key();
  if (key) check_key_outside(*key, db.path().parent_path().parent_path());
  AuditEntry e;
  e.prev_hash = kGenesis;
  e.seq = 1;
  {
    Statement last(db, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
    if (last.step()) {
      e.seq = last.int64(0) + 1;
      e.prev_hash = last.text(1);
    }
  }
  // Once keyed, always keyed: an entry without a MAC after keyed ones would
  // be one anybody could have written.
  if (!key && is_keyed(e.prev_hash)) {
    fail_input(
        "the audit log of {} is keyed: name its key with --audit-key-file or ${} to change "
        "the workspace",
        db.path().parent_path().parent_path().string(), kAuditKeyEnv);
  }
  e.time = format_time(now_unix());
  e.user = os_user();
  e.action = std::string(action);
  e.object = std::string(object);
  e.details = details.dump();
  e.actor = current_actor();
  e.hash = key ? audit_entry_mac(e, *key) : audit_entry_hash(e);
  Statement insert(
      db,
      "INSERT INTO audit_log (seq, time, user, action, object, details, prev_hash, hash, actor)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  insert.bind(1, e.seq).bind(2, e.time).bind(3, e.user).bind(4, e.action).bind(5, e.object);
  insert.bind(6, e.details).bind(7, e.prev_hash).bind(8, e.hash).bind(9, e.actor).run();
  update_or_insert(db, "UPDATE audit_head SET seq = ?1, hash = ?2 WHERE id = 1",
                   "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?1, ?2)",
                   [&](Statement& s) { s.bind(1, e.seq).bind(2, e.hash); });
  const Db* dbp = &db;
  db.after_commit([dbp, seq = e.seq, hash = e.hash, key] { write_anchor(*dbp, seq, hash, key); });
}

void set_audit_actor(std::string actor) {
  std::lock_guard lock(actor_mutex);
  process_actor = std::move(actor);
}

AuditActorScope::AuditActorScope(std::string actor) : previous_(std::move(thread_actor)) {
  thread_actor = std::move(actor);
}

AuditActorScope::~AuditActorScope() { thread_actor = std::move(previous_); }

std::vector<AuditEntry> list_audit(Db& db, const AuditQuery& query) {
  std::string sql = fmt::format("SELECT {} FROM audit_log", kColumns);
  if (!query.action.empty()) sql += " WHERE action = ?1";
  sql += " ORDER BY seq DESC";
  if (query.limit > 0) sql += fmt::format(" LIMIT {}", query.limit);
  Statement q(db, sql);
  if (!query.action.empty()) q.bind(1, query.action);
  std::vector<AuditEntry> out;
  while (q.step()) out.push_back(read_entry(q));
  std::reverse(out.begin(), out.end());
  return out;
}

namespace {

// Every registry row must be explained by the log: a version by its
// "register" entry (same artifact), a deleted version by a "delete" entry
// (or a "purge" entry, which deletes too), a purged version by a "purge" entry,
// an alias by the newest "alias" entry for it. A row written straight into
// SQLite, behind the log's back, shows up here.
void check_registry_rows(Db& db, const std::vector<AuditEntry>& entries, AuditReport& report) {
  std::map<std::string, std::string> registered;  // "model tiny@1" -> artifact
  std::set<std::string> deleted;
  std::set<std::string> purged;
  std::map<std::string, std::int64_t> alias_to;  // "model tiny:production" -> version
  for (const AuditEntry& e : entries) {
    const nlohmann::json d = nlohmann::json::parse(e.details, nullptr, false);
    if (!d.is_object()) continue;
    if (e.action == "register") registered[e.object] = d.value("artifact", std::string());
    if (e.action == "delete") deleted.insert(e.object);
    if (e.action == "purge") purged.insert(e.object);
    if (e.action == "alias" && d.contains("to") && d["to"].is_number_integer())
      alias_to[e.object] = d["to"].get<std::int64_t>();
    if (e.action == "unalias") alias_to.erase(e.object);
  }
  Statement versions(db,
                     "SELECT kind, name, version, artifact, deleted_at IS NOT NULL,"
                     " purged_at IS NOT NULL FROM registry_versions ORDER BY id");
  while (versions.step()) {
    const std::string object =
        fmt::format("{} {}@{}", versions.text(0), versions.text(1), versions.int64(2));
    auto it = registered.find(object);
    if (it == registered.end()) {
      report.problems.push_back(
          {0, fmt::format("registry row {} has no register entry in the audit log", object)});
    } else if (it->second != versions.text(3)) {
      report.problems.push_back(
          {0, fmt::format("registry row {} names artifact {}, the audit log recorded {}", object,
                          versions.text(3), it->second)});
    }
    if (versions.int64(4) != 0 && !deleted.contains(object) && !purged.contains(object)) {
      report.problems.push_back(
          {0, fmt::format("registry row {} is deleted without a delete entry", object)});
    }
    if (versions.int64(5) != 0 && !purged.contains(object)) {
      report.problems.push_back(
          {0, fmt::format("registry row {} is purged without a purge entry", object)});
    }
  }
  Statement aliases(db,
                    "SELECT a.kind, a.name, a.alias, v.version FROM registry_aliases a"
                    " JOIN registry_versions v ON v.id = a.version_id ORDER BY a.kind, a.name");
  while (aliases.step()) {
    const std::string object =
        fmt::format("{} {}:{}", aliases.text(0), aliases.text(1), aliases.text(2));
    auto it = alias_to.find(object);
    if (it == alias_to.end() || it->second != aliases.int64(3)) {
      report.problems.push_back(
          {0, fmt::format("alias {} points at version {}, which the audit log does not record",
                          object, aliases.int64(3))});
    }
  }
}

}  // namespace

AuditReport verify_audit(Db& db) {
  AuditReport report;
  const std::optional<AuditKey>& key = audit_key();
  // Read before the snapshot: whatever the anchor names was committed by then.
  const std::optional<Anchor> anchor = read_anchor(db);
  ReadTransaction snapshot(db);
  Statement q(db, fmt::format("SELECT {} FROM audit_log ORDER BY seq", kColumns));
  std::int64_t expected = 1;
  std::string prev = kGenesis;
  std::vector<AuditEntry> entries;
  bool seen_keyed = false;
  bool unverifiable = false;
  while (q.step()) {
    AuditEntry e = read_entry(q);
    ++report.n_entries;
    if (e.seq != expected) {
      report.problems.push_back(
          {e.seq, e.seq > expected
                      ? fmt::format("entries {}..{} are missing (deleted)", expected, e.seq - 1)
                      : fmt::format("sequence number goes back (expected {})", expected)});
    }
    if (e.prev_hash != prev) {
      report.problems.push_back(
          {e.seq,
           "previous-entry hash does not match the entry before it (an entry was inserted, "
           "deleted or rewritten before this one)"});
    }
    if (is_keyed(e.hash)) {
      seen_keyed = true;
      if (!key) {
        unverifiable = true;
      } else if (audit_entry_mac(e, *key) != e.hash) {
        report.problems.push_back(
            {e.seq,
             "contents do not match the entry's MAC (edited, or written under another key)"});
      }
    } else {
      if (seen_keyed) {
        report.problems.push_back(
            {e.seq, "entry has a plain hash after keyed entries (written without the key)"});
      }
      if (audit_entry_hash(e) != e.hash)
        report.problems.push_back({e.seq, "contents do not match the entry's hash (edited)"});
    }
    prev = e.hash;
    expected = e.seq + 1;
    entries.push_back(std::move(e));
  }
  if (unverifiable) {
    report.problems.push_back(
        {0, fmt::format("the log is keyed: name its key with --audit-key-file or ${} to verify it",
                        kAuditKeyEnv)});
  }
  // With the key in hand the newest entry must carry a MAC: a log rewritten
  // whole with plain hashes (or cut back to its unkeyed start) is caught.
  if (key && report.n_entries > 0 && !is_keyed(prev)) {
    report.problems.push_back(
        {expected - 1,
         "the newest entry has no MAC (the log was rewritten with plain hashes, or was never "
         "keyed: `enclave audit anchor` keys it from now on)"});
  }
  Statement head(db, "SELECT seq, hash FROM audit_head WHERE id = 1");
  if (head.step()) {
    std::int64_t head_seq = head.int64(0);
    std::string head_hash = head.text(1);
    if (head_seq != expected - 1 || head_hash != prev) {
      report.problems.push_back(
          {head_seq, fmt::format("the log ends at entry {} but its head records entry {} (newest "
                                 "entries deleted, or entries appended behind the log's back)",
                                 expected - 1, head_seq)});
    }
  } else if (report.n_entries > 0) {
    report.problems.push_back({0, "the audit head record is missing"});
  }
  const std::string head_file = anchor_path(db).filename().string();
  if (!anchor && report.n_entries > 0) {
    report.problems.push_back(
        {0, fmt::format("{} is missing (the copy of the head beside the database)", head_file)});
  }
  if (anchor) {
    if (anchor->seq < 0) {
      report.problems.push_back(
          {0, fmt::format("{} is not a valid audit anchor", anchor_path(db).string())});
    } else if (anchor->seq > expected - 1) {
      report.problems.push_back(
          {anchor->seq,
           fmt::format("the log ends at entry {} but {} records entry {} (newest entries deleted)",
                       expected - 1, head_file, anchor->seq)});
    } else if (anchor->seq > 0) {
      Statement at(db, "SELECT hash FROM audit_log WHERE seq = ?1");
      at.bind(1, anchor->seq);
      if (!at.step() || at.text(0) != anchor->hash) {
        report.problems.push_back(
            {anchor->seq, fmt::format("entry {} does not match the hash recorded in {} (rewritten)",
                                      anchor->seq, head_file)});
      }
    }
    if (key && anchor->seq > 0 && is_keyed(anchor->hash) &&
        anchor->mac != head_mac(*key, anchor->seq, anchor->hash)) {
      report.problems.push_back(
          {anchor->seq, fmt::format("{} does not carry the key's MAC (forged)", head_file)});
    }
  }
  check_registry_rows(db, entries, report);
  report.head_seq = expected - 1;
  report.head_hash = prev;
  return report;
}

nlohmann::json audit_entries_json(const std::vector<AuditEntry>& entries) {
  nlohmann::json out = nlohmann::json::array();
  for (const AuditEntry& e : entries) {
    nlohmann::json details = nlohmann::json::parse(e.details, nullptr, /*allow_exceptions=*/false);
    if (details.is_discarded()) details = e.details;
    out.push_back({{"seq", e.seq},
                   {"time", e.time},
                   {"user", e.user},
                   {"actor", e.actor},
                   {"action", e.action},
                   {"object", e.object},
                   {"details", details},
                   {"prev_hash", e.prev_hash},
                   {"hash", e.hash}});
  }
  return out;
}

std::string format_audit_entries(const std::vector<AuditEntry>& entries) {
  if (entries.empty()) return "no audit entries\n";
  Table table(
      {{"SEQ", Align::kRight}, {"TIME"}, {"USER"}, {"ACTOR"}, {"ACTION"}, {"OBJECT"}, {"DETAILS"}});
  for (const AuditEntry& e : entries) {
    table.add_row({std::to_string(e.seq), e.time, e.user, e.actor.empty() ? "-" : e.actor, e.action,
                   e.object, e.details != "{}" ? shorten(e.details, 100) : ""});
  }
  return table.render();
}

nlohmann::json audit_report_json(const AuditReport& report) {
  nlohmann::json problems = nlohmann::json::array();
  for (const AuditProblem& p : report.problems)
    problems.push_back({{"seq", p.seq}, {"reason", p.reason}});
  return {{"ok", report.ok()},
          {"n_entries", report.n_entries},
          {"head_hash", report.head_hash},
          {"problems", problems}};
}

std::string format_audit_report(const AuditReport& report) {
  if (report.ok()) {
    return fmt::format("audit log OK: {} entries, head {}\n", report.n_entries, report.head_hash);
  }
  std::string out = fmt::format("audit log BROKEN: {} problem(s) in {} entries\n",
                                report.problems.size(), report.n_entries);
  for (const AuditProblem& p : report.problems)
    out += fmt::format("  entry {}: {}\n", p.seq, p.reason);
  return out;
}

}  // namespace enclave::store
