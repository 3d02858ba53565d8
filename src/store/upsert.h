// update_or_insert: UPSERT for SQLCipher 3.4's SQLite (3.15), which predates
// `INSERT ... ON CONFLICT DO UPDATE` (3.24). The UPDATE runs first; when it
// matched no row, the INSERT runs. Inside the caller's WriteTransaction
// (BEGIN IMMEDIATE holds the write lock) nobody can insert the row between
// the two, so the pair is as atomic as the UPSERT it replaces.
// Thread safety: as Db.
#pragma once

#include <functional>
#include <string_view>

#include "store/db.h"

namespace enclave::store {

// update_sql and insert_sql take the same parameters, which bind sets on
// each. Must run inside a WriteTransaction.
void update_or_insert(Db& db, std::string_view update_sql, std::string_view insert_sql,
                      const std::function<void(Statement&)>& bind);

}  // namespace enclave::store
