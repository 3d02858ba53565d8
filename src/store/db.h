// Db: one SQLite connection to a workspace's enclave.db, set up the way every
// process must use it: WAL journal (readers never block the writer), foreign
// keys on, synchronous=FULL (an acknowledged commit survives power loss) and a
// busy timeout, so several processes can write at once and wait for each
// other instead of failing. Statement binds and reads one prepared statement;
// WriteTransaction takes the write lock up front (BEGIN IMMEDIATE), which is
// what makes concurrent writers safe: a deferred transaction that upgrades
// from read to write can fail with SQLITE_BUSY without waiting.
// Thread safety: one Db (and its Statements) belongs to one thread at a time;
// open one Db per thread or process.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace enclave::store {

struct DbOptions {
  bool create = false;  // create the file if missing (only `enclave init` does)
  // How long a writer waits for another process's write lock.
  std::chrono::milliseconds busy_timeout{30000};
  // SQLCipher key (`x'<hex>'`). Unset: a database inside an encrypted
  // workspace's .enclave gets the workspace key (store/workspace_key.h), any
  // other is plain SQLite.
  std::optional<std::string> key;
};

class Statement;

class Db {
 public:
  // Opens path and applies the settings above. Throws Error(kNotFound) if it
  // is missing and !options.create, Error(kIo) if SQLite cannot open it or
  // refuses WAL mode; a symlinked path is refused. An encrypted database
  // without its key, or with a wrong one, throws Error(kInvalidInput).
  Db(const std::filesystem::path& path, DbOptions options = {});
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs one or more statements that return no rows.
  void exec(std::string_view sql);
  Statement prepare(std::string_view sql);
  std::int64_t last_insert_rowid() const;
  // Rows changed by the last INSERT/UPDATE/DELETE.
  int changes() const;
  bool in_transaction() const;
  // Runs fn once the current WriteTransaction has committed (dropped if it
  // rolls back): for files that must never run ahead of the database.
  void after_commit(std::function<void()> fn);

  // Writes a copy of the whole database to dest (a new file), encrypted
  // under key (`x'<hex>'`), with SQLCipher's sqlcipher_export. For rekeying:
  // the copy replaces the original by rename, so an interruption leaves the
  // old database whole.
  void rekey_to(const std::filesystem::path& dest, const std::string& key);

  const std::filesystem::path& path() const { return path_; }
  std::chrono::milliseconds busy_timeout() const { return options_.busy_timeout; }
  sqlite3* handle() const { return db_; }

  // Throws Error for a failed SQLite call: the message names the database
  // file, `what` and SQLite's reason; SQLITE_BUSY says another process holds
  // the lock, SQLITE_CONSTRAINT maps to kInvalidInput, the rest to kIo.
  [[noreturn]] void fail_sqlite(int rc, std::string_view what) const;

 private:
  friend class WriteTransaction;
  void apply_key(const std::string& key);
  std::filesystem::path path_;
  DbOptions options_;
  sqlite3* db_ = nullptr;
  std::vector<std::function<void()>> after_commit_;
};

class Statement {
 public:
  Statement(Db& db, std::string_view sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;

  // Parameters are numbered from 1, as in SQL's ?1, ?2.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, std::int64_t{value}); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const std::string& value) {
    return bind(index, std::string_view(value));
  }
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind_null(int index);
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  // Advances to the next row: true if there is one, false when done.
  bool step();
  // Runs a statement that returns no rows.
  void run();
  // Clears bindings and rewinds, so the statement can run again.
  void reset();

  // Columns are numbered from 0.
  bool is_null(int column) const;
  std::int64_t int64(int column) const;
  double real(int column) const;
  std::string text(int column) const;
  std::optional<std::int64_t> optional_int64(int column) const;
  std::optional<std::string> optional_text(int column) const;

 private:
  Db* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE on construction (waiting up to the busy timeout for other
// writers), ROLLBACK on destruction unless commit() was called.
class WriteTransaction {
 public:
  explicit WriteTransaction(Db& db);
  ~WriteTransaction();
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  void commit();

 private:
  Db& db_;
  bool open_ = false;
};

// BEGIN (deferred) for a consistent snapshot across several SELECTs.
class ReadTransaction {
 public:
  explicit ReadTransaction(Db& db);
  ~ReadTransaction();
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  Db& db_;
};

}  // namespace enclave::store
