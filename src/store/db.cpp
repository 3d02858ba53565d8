#include "store/db.h"

#include <fcntl.h>
#include <sqlcipher/sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "core/error.h"
#include "store/upsert.h"
#include "store/workspace_key.h"

namespace enclave::store {
namespace {

bool is_busy(int rc) { return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED; }

// SQLCipher 3.4 is SQLite 3.15, older than SQLITE_OPEN_NOFOLLOW (3.31); the
// lstat check in Db::Db refuses a symlinked path instead.
#ifndef SQLITE_OPEN_NOFOLLOW
#define SQLITE_OPEN_NOFOLLOW 0
#endif

// The SQLCipher key of the database at path: the one given, else the
// workspace key when the path lies in an encrypted workspace's .enclave.
std::optional<std::string> database_key(const std::filesystem::path& path,
                                        const DbOptions& options) {
  if (options.key) return options.key;
  const std::filesystem::path dot = enclosing_dot_dir(path);
  if (dot.empty()) return std::nullopt;
  std::optional<WorkspaceKey> key = workspace_key_for(dot);
  if (!key) return std::nullopt;
  return key->database_key();
}

}  // namespace

Db::Db(const std::filesystem::path& path, DbOptions options) : path_(path), options_(options) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode))
      fail_input("{}: is a symbolic link; refusing to open it", path.string());
  } else if (!options.create) {
    fail(ErrorKind::kNotFound, "{}: workspace database not found", path.string());
  }
  const std::optional<std::string> key = database_key(path, options);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX;
  if (options.create) flags |= SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string reason = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    fail(ErrorKind::kIo, "{}: cannot open database: {}", path.string(), reason);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, static_cast<int>(options.busy_timeout.count()));
  try {
    if (key) apply_key(*key);
    // journal_mode answers with the mode in force; WAL can be refused (e.g.
    // on a filesystem without shared memory) and we must not go on silently.
    Statement mode(*this, "PRAGMA journal_mode=WAL");
    if (!mode.step() || mode.text(0) != "wal") {
      fail(ErrorKind::kIo, "{}: SQLite refused WAL journal mode", path.string());
    }
    exec("PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;");
  } catch (...) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

void Db::apply_key(const std::string& key) {
  // Not through exec(): its error message would quote the key.
  const std::string pragma = "PRAGMA key = \"" + key + "\"";
  int rc = sqlite3_exec(db_, pragma.c_str(), nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) {
    // A wrong key shows only when a page is read.
    rc = sqlite3_exec(db_, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
  }
  if (rc != SQLITE_OK) {
    fail_input(
        "{}: cannot open the encrypted database with this key (wrong key, or the file is "
        "not an encrypted Enclave database): {}",
        path_.string(), sqlite3_errstr(rc));
  }
}

void Db::rekey_to(const std::filesystem::path& dest, const std::string& key) {
  // ATTACH opens with this connection's flags, which lack SQLITE_OPEN_CREATE
  // unless the workspace is being made: an empty file is an empty database.
  const int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) fail(ErrorKind::kIo, "{}: cannot create: {}", dest.string(), std::strerror(errno));
  ::close(fd);
  // Bound, so neither the path nor the key is parsed as SQL or quoted in errors.
  Statement attach(*this, "ATTACH DATABASE ?1 AS rekeyed KEY ?2");
  attach.bind(1, dest.string()).bind(2, key).run();
  int rc = sqlite3_exec(db_, "SELECT sqlcipher_export('rekeyed')", nullptr, nullptr, nullptr);
  const int detach = sqlite3_exec(db_, "DETACH DATABASE rekeyed", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail_sqlite(rc, fmt::format("export to {}", dest.string()));
  if (detach != SQLITE_OK) fail_sqlite(detach, fmt::format("detach {}", dest.string()));
}

Db::~Db() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

void Db::fail_sqlite(int rc, std::string_view what) const {
  std::string reason = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  if (is_busy(rc)) {
    fail(ErrorKind::kIo,
         "{}: {}: database is busy: another process held the lock for more than {} ms",
         path_.string(), what, options_.busy_timeout.count());
  }
  ErrorKind kind = (rc & 0xff) == SQLITE_CONSTRAINT ? ErrorKind::kInvalidInput : ErrorKind::kIo;
  fail(kind, "{}: {}: {}", path_.string(), what, reason);
}

void Db::exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    sqlite3_free(err);
    fail_sqlite(rc, text.substr(0, 60));
  }
}

Statement Db::prepare(std::string_view sql) { return Statement(*this, sql); }

std::int64_t Db::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

int Db::changes() const { return sqlite3_changes(db_); }

void Db::after_commit(std::function<void()> fn) {
  ENCLAVE_CHECK(in_transaction());
  after_commit_.push_back(std::move(fn));
}

bool Db::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

Statement::Statement(Db& db, std::string_view sql) : db_(&db) {
  int rc =
      sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) db.fail_sqlite(rc, fmt::format("prepare '{}'", sql.substr(0, 60)));
}

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}

Statement& Statement::bind(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) db_->fail_sqlite(rc, "bind");
  return *this;
}

Statement& Statement::bind(int index, double value) {
  int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK) db_->fail_sqlite(rc, "bind");
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  int rc =
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) db_->fail_sqlite(rc, "bind");
  return *this;
}

Statement& Statement::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) db_->fail_sqlite(rc, "bind");
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string sql = sqlite3_sql(stmt_) != nullptr ? sqlite3_sql(stmt_) : "";
  sqlite3_reset(stmt_);
  db_->fail_sqlite(rc, sql.substr(0, 60));
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t Statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

double Statement::real(int column) const { return sqlite3_column_double(stmt_, column); }

std::string Statement::text(int column) const {
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  int n = sqlite3_column_bytes(stmt_, column);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
}

std::optional<std::int64_t> Statement::optional_int64(int column) const {
  if (is_null(column)) return std::nullopt;
  return int64(column);
}

std::optional<std::string> Statement::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

WriteTransaction::WriteTransaction(Db& db) : db_(db) {
  ENCLAVE_CHECK(!db.in_transaction());
  // The busy handler covers the usual wait; WAL recovery by another
  // connection can still answer SQLITE_BUSY at once, so retry until the same
  // deadline.
  auto deadline = std::chrono::steady_clock::now() + db.busy_timeout();
  for (;;) {
    int rc = sqlite3_exec(db.handle(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) break;
    if (!is_busy(rc) || std::chrono::steady_clock::now() >= deadline) {
      db.fail_sqlite(rc, "begin write transaction");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  open_ = true;
  db_.after_commit_.clear();  // left by a transaction not run through this class
}

WriteTransaction::~WriteTransaction() {
  if (open_) {
    sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    db_.after_commit_.clear();
  }
}

void WriteTransaction::commit() {
  ENCLAVE_CHECK(open_);
  int rc = sqlite3_exec(db_.handle(), "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) db_.fail_sqlite(rc, "commit");
  open_ = false;
  std::vector<std::function<void()>> pending;
  pending.swap(db_.after_commit_);
  for (auto& fn : pending) fn();
}

void update_or_insert(Db& db, std::string_view update_sql, std::string_view insert_sql,
                      const std::function<void(Statement&)>& bind) {
  ENCLAVE_CHECK(db.in_transaction());
  Statement update(db, update_sql);
  bind(update);
  update.run();
  if (db.changes() > 0) return;
  Statement insert(db, insert_sql);
  bind(insert);
  insert.run();
}

ReadTransaction::ReadTransaction(Db& db) : db_(db) {
  ENCLAVE_CHECK(!db.in_transaction());
  db.exec("BEGIN");
}

ReadTransaction::~ReadTransaction() {
  sqlite3_exec(db_.handle(), "COMMIT", nullptr, nullptr, nullptr);
}

}  // namespace enclave::store
