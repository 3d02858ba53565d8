// The workspace database schema and its migrations. Each migration is SQL
// that moves the schema from version N-1 to N; schema_version holds one row
// per applied migration. Opening a database applies the missing migrations
// in order, each in its own write transaction, so two processes opening an
// old workspace at once migrate it exactly once. A database newer than this
// program is refused rather than guessed at.
// Thread safety: operates on one Db; see db.h.
#pragma once

#include "store/db.h"

namespace enclave::store {

// The version this program writes and understands.
int latest_schema_version();

// The version of the schema in db (0 for an empty database).
int schema_version(Db& db);

// Brings db up to latest_schema_version(). Throws Error(kUnsupported) if the
// database is newer than this program, Error(kIo) on SQLite failures.
void migrate(Db& db);

}  // namespace enclave::store
