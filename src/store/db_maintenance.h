// Whole-database operations on an open Db: copying it with SQLite's online
// backup API, truncating its write-ahead log, and scrubbing deleted rows out
// of its bytes (erasure). They work on connections opened through Db, so
// whatever Db's constructor sets up (WAL, keys) applies to both ends.
// Thread safety: as db.h; each function uses its Db(s) for its duration.
#pragma once

#include "store/db.h"

namespace enclave::store {

// Copies the whole of `from` into `to` with SQLite's online backup API, as one
// consistent snapshot: the copy reads `from` inside one read transaction, so
// writers in other processes go on (WAL) and none of their later commits is
// half in the copy. `to` must be a fresh database opened through Db. Waits up
// to to's busy timeout for locks; throws Error(kIo) naming the files.
void backup_database(Db& from, Db& to);

// Checkpoints the WAL into the database file and truncates the -wal file to
// zero bytes (PRAGMA wal_checkpoint(TRUNCATE)), waiting up to the busy
// timeout for readers. Throws Error(kIo) if a reader kept it from finishing.
void checkpoint_truncate(Db& db);

// Turns PRAGMA secure_delete on for this connection: deleted rows are
// overwritten with zeros. Set it before the DELETEs of an erasure.
void set_secure_delete(Db& db);

// Erasure, after the DELETEs (with secure_delete on): rebuilds the file
// (VACUUM, so no stale copy survives in free pages or in cells moved
// earlier) and checkpoints with TRUNCATE, so the deleted text is in neither
// the database file nor its -wal file (the -shm file holds only the WAL
// index). Must run outside a transaction; throws like checkpoint_truncate.
void scrub_deleted(Db& db);

}  // namespace enclave::store
