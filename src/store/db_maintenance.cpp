#include "store/db_maintenance.h"

#include <fmt/format.h>
#include <sqlcipher/sqlite3.h>

#include <chrono>
#include <thread>

#include "core/error.h"

namespace enclave::store {
namespace {

bool is_busy(int rc) { return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED; }

}  // namespace

void backup_database(Db& from, Db& to) {
  sqlite3_backup* backup = sqlite3_backup_init(to.handle(), "main", from.handle(), "main");
  if (backup == nullptr) to.fail_sqlite(sqlite3_errcode(to.handle()), "start backup");
  // All pages in one step: one read transaction on `from`, hence one
  // snapshot, and no restart when another process commits meanwhile.
  auto deadline = std::chrono::steady_clock::now() + to.busy_timeout();
  int rc = SQLITE_OK;
  for (;;) {
    rc = sqlite3_backup_step(backup, -1);
    if (rc == SQLITE_DONE) break;
    if (!is_busy(rc) || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int finish = sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    to.fail_sqlite(rc, fmt::format("copy {} (online backup)", from.path().string()));
  }
  if (finish != SQLITE_OK) {
    to.fail_sqlite(finish, fmt::format("finish copy of {}", from.path().string()));
  }
}

void checkpoint_truncate(Db& db) {
  Statement checkpoint(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  // One row: busy (1 if readers kept the checkpoint from finishing), pages
  // in the WAL, pages checkpointed.
  if (!checkpoint.step() || checkpoint.int64(0) != 0) {
    fail(ErrorKind::kIo,
         "{}: cannot truncate the write-ahead log: another process kept reading for more than "
         "{} ms; run the command again when it is idle",
         db.path().string(), db.busy_timeout().count());
  }
}

void set_secure_delete(Db& db) {
  Statement on(db, "PRAGMA secure_delete=ON");
  if (!on.step() || on.int64(0) != 1) {
    fail(ErrorKind::kIo, "{}: SQLite refused PRAGMA secure_delete", db.path().string());
  }
}

void scrub_deleted(Db& db) {
  ENCLAVE_CHECK(!db.in_transaction());
  set_secure_delete(db);
  db.exec("VACUUM");
  checkpoint_truncate(db);
}

}  // namespace enclave::store
