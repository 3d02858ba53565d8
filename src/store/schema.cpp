#include "store/schema.h"

#include <array>
#include <string_view>

#include "core/error.h"
#include "store/clock.h"

namespace enclave::store {
namespace {

// Times are REAL seconds since the epoch, except in the audit log, whose
// hashed text must not depend on float formatting.
constexpr std::string_view kMigration1 = R"sql(
CREATE TABLE artifacts (
  digest TEXT PRIMARY KEY CHECK (length(digest) = 71 AND substr(digest, 1, 7) = 'sha256:'),
  kind TEXT NOT NULL CHECK (kind IN ('file', 'dir')),
  size INTEGER NOT NULL CHECK (size >= 0),
  n_files INTEGER NOT NULL CHECK (n_files >= 0),
  created_at REAL NOT NULL
);
-- The files of an artifact: one row for a file artifact, one per file for a
-- directory (whose own digest is that of its manifest object).
CREATE TABLE artifact_files (
  artifact TEXT NOT NULL REFERENCES artifacts(digest) ON DELETE CASCADE,
  path TEXT NOT NULL,
  object TEXT NOT NULL CHECK (length(object) = 64),
  size INTEGER NOT NULL CHECK (size >= 0),
  executable INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (artifact, path)
);
CREATE INDEX artifact_files_object ON artifact_files(object);

CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  command TEXT NOT NULL DEFAULT '[]',
  params TEXT NOT NULL DEFAULT '{}',
  program_version TEXT NOT NULL DEFAULT '',
  build_id TEXT NOT NULL DEFAULT '',
  host TEXT NOT NULL DEFAULT '',
  boot_id TEXT NOT NULL DEFAULT '',
  pid INTEGER NOT NULL DEFAULT 0,
  pid_start INTEGER NOT NULL DEFAULT 0,
  user TEXT NOT NULL DEFAULT '',
  cwd TEXT NOT NULL DEFAULT '',
  seed INTEGER,
  status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'killed')),
  message TEXT NOT NULL DEFAULT '',
  started_at REAL NOT NULL,
  ended_at REAL,
  heartbeat_at REAL NOT NULL,
  log_path TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_status ON runs(status);

CREATE TABLE metrics (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  key TEXT NOT NULL,
  step INTEGER NOT NULL,
  value REAL,  -- NULL stands for NaN, which SQLite cannot store
  time REAL NOT NULL
);
CREATE INDEX metrics_run_key_step ON metrics(run_id, key, step);

CREATE TABLE registry_names (
  kind TEXT NOT NULL CHECK (kind IN ('model', 'dataset')),
  name TEXT NOT NULL,
  created_at REAL NOT NULL,
  PRIMARY KEY (kind, name)
);
CREATE TABLE registry_versions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 1),
  artifact TEXT NOT NULL REFERENCES artifacts(digest),
  run_id INTEGER REFERENCES runs(id),
  source TEXT NOT NULL DEFAULT '',
  created_at REAL NOT NULL,
  created_by TEXT NOT NULL DEFAULT '',
  UNIQUE (kind, name, version),
  FOREIGN KEY (kind, name) REFERENCES registry_names(kind, name)
);
CREATE INDEX registry_versions_artifact ON registry_versions(artifact);
CREATE INDEX registry_versions_run ON registry_versions(run_id);
CREATE TRIGGER registry_versions_immutable BEFORE UPDATE ON registry_versions
BEGIN SELECT RAISE(ABORT, 'registry versions are immutable'); END;
CREATE TABLE registry_aliases (
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  alias TEXT NOT NULL,
  version_id INTEGER NOT NULL REFERENCES registry_versions(id),
  updated_at REAL NOT NULL,
  PRIMARY KEY (kind, name, alias)
);
CREATE TABLE registry_tags (
  version_id INTEGER NOT NULL REFERENCES registry_versions(id),
  key TEXT NOT NULL,
  value TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (version_id, key)
);

-- What a run read and wrote: an artifact or a registry version, never both.
CREATE TABLE run_io (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  direction TEXT NOT NULL CHECK (direction IN ('input', 'output')),
  role TEXT NOT NULL DEFAULT '',
  artifact TEXT REFERENCES artifacts(digest),
  version_id INTEGER REFERENCES registry_versions(id),
  CHECK ((artifact IS NULL) <> (version_id IS NULL))
);
CREATE INDEX run_io_run ON run_io(run_id);
CREATE INDEX run_io_artifact ON run_io(artifact);
CREATE INDEX run_io_version ON run_io(version_id);

CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  time TEXT NOT NULL,
  user TEXT NOT NULL,
  action TEXT NOT NULL,
  object TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
-- Guards against accidents; a deliberate edit is caught by `audit verify`.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
-- The last entry, so deleting the newest entries is detected too.
CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL
);
)sql";

// Deleting a registry version is soft: the row stays (runs' inputs and the
// lineage graph still name it) but is marked deleted, which hides it from
// references, lists and gc's idea of what is alive. The immutability
// trigger is narrowed so the one allowed change is marking a version deleted,
// once. An artifact whose only users are deleted versions keeps its row (the
// deleted versions' foreign key needs it) when gc reclaims its content:
// purged_at is set and its artifact_files rows go.
constexpr std::string_view kMigration2 = R"sql(
ALTER TABLE registry_versions ADD COLUMN deleted_at REAL;
ALTER TABLE registry_versions ADD COLUMN deleted_by TEXT NOT NULL DEFAULT '';
DROP TRIGGER registry_versions_immutable;
CREATE TRIGGER registry_versions_immutable
BEFORE UPDATE OF id, kind, name, version, artifact, run_id, source, created_at, created_by ON registry_versions
BEGIN SELECT RAISE(ABORT, 'registry versions are immutable'); END;
CREATE TRIGGER registry_versions_delete_once
BEFORE UPDATE OF deleted_at, deleted_by ON registry_versions
WHEN OLD.deleted_at IS NOT NULL OR NEW.deleted_at IS NULL
BEGIN SELECT RAISE(ABORT, 'a deleted registry version stays deleted'); END;
CREATE INDEX registry_versions_live ON registry_versions(kind, name, deleted_at);
ALTER TABLE artifacts ADD COLUMN purged_at REAL;
)sql";

// Pipelines (src/pipeline): a pipeline run and its stages (each stage a
// store run), the step cache, and the triggers' state for `pipeline watch`.
// A fired trigger and the run it started are one row written in the same
// transaction as the trigger's new cursor, so a restarted watcher neither
// loses nor repeats it.
constexpr std::string_view kMigration3 = R"sql(
CREATE TABLE pipeline_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  pipeline TEXT NOT NULL,
  file TEXT NOT NULL,
  params TEXT NOT NULL DEFAULT '{}',
  target TEXT NOT NULL DEFAULT '',
  forced TEXT NOT NULL DEFAULT '[]',
  status TEXT NOT NULL CHECK (status IN
    ('running', 'waiting_approval', 'succeeded', 'failed', 'rejected')),
  trigger TEXT NOT NULL DEFAULT 'manual',
  owner_host TEXT NOT NULL DEFAULT '',
  owner_boot TEXT NOT NULL DEFAULT '',
  owner_pid INTEGER NOT NULL DEFAULT 0,
  owner_start INTEGER NOT NULL DEFAULT 0,
  message TEXT NOT NULL DEFAULT '',
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL,
  ended_at REAL
);
CREATE INDEX pipeline_runs_name ON pipeline_runs(pipeline, id);
CREATE TABLE pipeline_stages (
  run_id INTEGER NOT NULL REFERENCES pipeline_runs(id),
  stage TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'waiting_approval', 'succeeded',
    'cached', 'failed', 'skipped', 'rejected')),
  approved INTEGER NOT NULL DEFAULT 0,
  store_run INTEGER REFERENCES runs(id),
  cmd TEXT NOT NULL DEFAULT '',
  outs TEXT NOT NULL DEFAULT '{}',
  message TEXT NOT NULL DEFAULT '',
  started_at REAL,
  ended_at REAL,
  PRIMARY KEY (run_id, stage)
);
CREATE TABLE pipeline_cache (
  pipeline TEXT NOT NULL,
  stage TEXT NOT NULL,
  key TEXT NOT NULL,
  program_version TEXT NOT NULL,
  inputs TEXT NOT NULL,
  outs TEXT NOT NULL,
  store_run INTEGER REFERENCES runs(id),
  created_at REAL NOT NULL,
  PRIMARY KEY (pipeline, stage)
);
CREATE TABLE pipeline_triggers (
  pipeline TEXT NOT NULL,
  trigger TEXT NOT NULL,
  cursor TEXT NOT NULL DEFAULT '{}',
  checked_at REAL,
  fired_at REAL,
  PRIMARY KEY (pipeline, trigger)
);
CREATE TABLE pipeline_fires (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  pipeline TEXT NOT NULL,
  trigger TEXT NOT NULL,
  reason TEXT NOT NULL,
  run_id INTEGER NOT NULL REFERENCES pipeline_runs(id),
  fired_at REAL NOT NULL
);
)sql";

// Monitoring alerts (src/monitor/alerts.h): each change of a rule's state,
// so the latest row says whether it fires and the rows are its history.
constexpr std::string_view kMigration4 = R"sql(
CREATE TABLE alert_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  rule TEXT NOT NULL,
  metric TEXT NOT NULL,
  model TEXT NOT NULL DEFAULT '',
  event TEXT NOT NULL CHECK (event IN ('raised', 'cleared')),
  value REAL,
  threshold REAL NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('above', 'below')),
  window_seconds REAL NOT NULL,
  at REAL NOT NULL
);
CREATE INDEX alert_events_rule ON alert_events(rule, id);
)sql";

// Erasure (store/purge.h): a purged registry version stays as a tombstone
// (runs' inputs and lineage still name it) with the time it was purged and
// its source path blanked; that is the one change allowed after deletion,
// once.
constexpr std::string_view kMigration5 = R"sql(
ALTER TABLE registry_versions ADD COLUMN purged_at REAL;
DROP TRIGGER registry_versions_immutable;
CREATE TRIGGER registry_versions_immutable
BEFORE UPDATE OF id, kind, name, version, artifact, run_id, created_at, created_by ON registry_versions
BEGIN SELECT RAISE(ABORT, 'registry versions are immutable'); END;
CREATE TRIGGER registry_versions_purge_once
BEFORE UPDATE OF purged_at, source ON registry_versions
WHEN OLD.purged_at IS NOT NULL OR NEW.purged_at IS NULL OR NEW.source <> ''
BEGIN SELECT RAISE(ABORT, 'a registry version changes only when it is purged, once'); END;
)sql";

// Access control (store/users.h, store/roles.h): the OS users of a shared
// workspace and their roles, and the actor of each audit entry (the OS user,
// or "key:<id>" for a server action made with an API key). Entries written
// before this migration have an empty actor, which their hash does not
// cover, so old chains still verify (audit.cpp).
constexpr std::string_view kMigration6 = R"sql(
ALTER TABLE audit_log ADD COLUMN actor TEXT NOT NULL DEFAULT '';
CREATE TABLE workspace_users (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK (role IN ('viewer', 'service', 'developer', 'admin')),
  added_at REAL NOT NULL,
  added_by TEXT NOT NULL DEFAULT ''
);
)sql";

// The hash ledger (hash_ledger.h): each blob's last verification, as the
// file read (device, inode, size, mtime) and when; and the bytes hashed by
// every process.
constexpr std::string_view kMigration7 = R"sql(
CREATE TABLE blob_verifications (
  object TEXT PRIMARY KEY CHECK (length(object) = 64),
  dev INTEGER NOT NULL,
  ino INTEGER NOT NULL,
  size INTEGER NOT NULL CHECK (size >= 0),
  mtime_ns INTEGER NOT NULL,
  verified_at REAL NOT NULL
);
CREATE TABLE store_counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT INTO store_counters (name, value) VALUES ('hashed_bytes', 0);
)sql";

constexpr std::array<std::string_view, 7> kMigrations = {
    kMigration1, kMigration2, kMigration3, kMigration4, kMigration5, kMigration6, kMigration7};

bool has_version_table(Db& db) {
  Statement q(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  return q.step();
}

}  // namespace

int latest_schema_version() { return static_cast<int>(kMigrations.size()); }

int schema_version(Db& db) {
  if (!has_version_table(db)) return 0;
  Statement q(db, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
  q.step();
  return static_cast<int>(q.int64(0));
}

void migrate(Db& db) {
  int current = schema_version(db);
  if (current > latest_schema_version()) {
    fail(ErrorKind::kUnsupported,
         "{}: schema version {} is newer than this program understands ({}); upgrade enclave",
         db.path().string(), current, latest_schema_version());
  }
  while (current < latest_schema_version()) {
    WriteTransaction tx(db);
    // Another process may have migrated while we waited for the lock.
    current = schema_version(db);
    if (current >= latest_schema_version()) break;
    if (current == 0) {
      db.exec(
          "CREATE TABLE IF NOT EXISTS schema_version ("
          " version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)");
    }
    db.exec(kMigrations[static_cast<std::size_t>(current)]);
    Statement insert(db, "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)");
    insert.bind(1, current + 1).bind(2, now_unix()).run();
    tx.commit();
    ++current;
  }
}

}  // namespace enclave::store
