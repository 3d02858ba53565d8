#include "store/hash_ledger.h"

#include <fmt/format.h>

#include <optional>

#include "store/artifacts.h"
#include "store/clock.h"
#include "store/upsert.h"

namespace enclave::store {
namespace {

void write_ledger(Db& db, std::uint64_t bytes, const std::vector<ObjectStore::Verified>& verified,
                  double now) {
  if (bytes > 0) {
    Statement add(db, "UPDATE store_counters SET value = value + ?1 WHERE name = 'hashed_bytes'");
    add.bind(1, static_cast<std::int64_t>(bytes)).run();
  }
  for (const ObjectStore::Verified& v : verified) {
    update_or_insert(
        db,
        "UPDATE blob_verifications SET dev = ?2, ino = ?3, size = ?4, mtime_ns = ?5,"
        " verified_at = ?6 WHERE object = ?1",
        "INSERT INTO blob_verifications (object, dev, ino, size, mtime_ns, verified_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        [&](Statement& s) {
          s.bind(1, v.hex)
              .bind(2, static_cast<std::int64_t>(v.stamp.dev))
              .bind(3, static_cast<std::int64_t>(v.stamp.ino))
              .bind(4, static_cast<std::int64_t>(v.stamp.size))
              .bind(5, v.stamp.mtime_ns)
              .bind(6, now);
        });
  }
}

}  // namespace

void save_hash_ledger(Db& db, ObjectStore& objects) {
  const std::uint64_t bytes = objects.take_unsaved_hashed_bytes();
  const std::vector<ObjectStore::Verified> verified = objects.take_verified();
  if (bytes == 0 && verified.empty()) return;
  const double now = now_unix();
  if (db.in_transaction()) {
    write_ledger(db, bytes, verified, now);
    return;
  }
  WriteTransaction tx(db);
  write_ledger(db, bytes, verified, now);
  tx.commit();
}

bool blob_trusted(Workspace& workspace, std::string_view hex,
                  const std::optional<FileStamp>& file) {
  if (!file) return false;
  const std::optional<FileStamp> blob = stamp_of(workspace.objects().path_of(hex));
  if (!blob || !(*blob == *file)) return false;
  Statement q(workspace.db(),
              "SELECT dev, ino, size, mtime_ns, verified_at FROM blob_verifications"
              " WHERE object = ?1");
  q.bind(1, hex);
  if (!q.step()) return false;
  const FileStamp recorded{.dev = static_cast<std::uint64_t>(q.int64(0)),
                           .ino = static_cast<std::uint64_t>(q.int64(1)),
                           .size = static_cast<std::uint64_t>(q.int64(2)),
                           .mtime_ns = q.int64(3)};
  const double age = now_unix() - q.real(4);
  // A clock set back makes the age negative: not trusted.
  return recorded == *file && age >= 0 && age < workspace.config().verify_max_age_seconds;
}

StoreStats store_stats(Workspace& workspace) {
  save_hash_ledger(workspace.db(), workspace.objects());
  StoreStats out;
  out.verify_max_age_seconds = workspace.config().verify_max_age_seconds;
  {
    Statement q(workspace.db(), "SELECT value FROM store_counters WHERE name = 'hashed_bytes'");
    if (q.step()) out.hashed_bytes = static_cast<std::uint64_t>(q.int64(0));
  }
  {
    Statement q(workspace.db(), "SELECT COUNT(*) FROM blob_verifications");
    q.step();
    out.n_verified = q.int64(0);
  }
  for (const std::string& hex : workspace.objects().list().objects) {
    ++out.n_objects;
    if (std::optional<FileStamp> s = stamp_of(workspace.objects().path_of(hex)))
      out.object_bytes += s->size;
  }
  return out;
}

nlohmann::json store_stats_json(const StoreStats& stats) {
  return {{"hashed_bytes", stats.hashed_bytes},
          {"n_objects", stats.n_objects},
          {"object_bytes", stats.object_bytes},
          {"n_verified", stats.n_verified},
          {"verify_max_age_seconds", stats.verify_max_age_seconds}};
}

std::string format_store_stats(const StoreStats& stats) {
  return fmt::format(
      "objects        {} ({})\n"
      "verified       {} blob(s) on record, re-hashed after {}\n"
      "hashed         {} in all\n",
      stats.n_objects, format_bytes(stats.object_bytes), stats.n_verified,
      format_elapsed(stats.verify_max_age_seconds), format_bytes(stats.hashed_bytes));
}

}  // namespace enclave::store
