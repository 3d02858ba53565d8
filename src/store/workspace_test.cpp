#include "store/workspace.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "core/error.h"
#include "store/audit.h"
#include "store/schema.h"
#include "store/store_testing.h"

namespace enclave::store {
namespace {

using testing::ScratchDir;

class EnvGuard {
 public:
  explicit EnvGuard(const char* name) : name_(name) {
    if (const char* v = std::getenv(name)) old_ = v;
  }
  ~EnvGuard() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(Workspace, InitCreatesLayoutAndIsIdempotent) {
  ScratchDir dir;
  InitResult first = init_workspace(dir / "ws");
  EXPECT_TRUE(first.created);
  EXPECT_EQ(first.schema_version, latest_schema_version());
  for (const char* sub :
       {".enclave/enclave.db", ".enclave/objects", ".enclave/tmp", ".enclave/checkouts"}) {
    EXPECT_TRUE(std::filesystem::exists(dir / "ws" / sub)) << sub;
  }
  InitResult second = init_workspace(dir / "ws");
  EXPECT_FALSE(second.created);
  Workspace ws(dir / "ws");
  EXPECT_EQ(list_audit(ws.db()).size(), 1u);  // one "init" entry, not two
}

TEST(Workspace, DatabaseUsesWalAndForeignKeys) {
  ScratchDir dir;
  init_workspace(dir.path());
  Workspace ws(dir.path());
  Statement mode(ws.db(), "PRAGMA journal_mode");
  ASSERT_TRUE(mode.step());
  EXPECT_EQ(mode.text(0), "wal");
  Statement fk(ws.db(), "PRAGMA foreign_keys");
  ASSERT_TRUE(fk.step());
  EXPECT_EQ(fk.int64(0), 1);
  // A dangling reference is refused.
  EXPECT_THROW(
      ws.db().exec(
          "INSERT INTO metrics (run_id, key, step, value, time) VALUES (999, 'x', 0, 1, 0)"),
      Error);
}

TEST(Workspace, FindsByWalkingUpExplicitPathAndEnv) {
  ScratchDir dir;
  EnvGuard env("ENCLAVE_HOME");
  ::unsetenv("ENCLAVE_HOME");
  init_workspace(dir / "ws");
  std::filesystem::create_directories(dir / "ws/a/b/c");
  EXPECT_EQ(find_workspace({.start = dir / "ws/a/b/c"}), dir / "ws");
  EXPECT_EQ(find_workspace({.workspace = (dir / "ws").string()}), dir / "ws");
  EXPECT_EQ(find_workspace({.workspace = (dir / "ws/.enclave").string()}), dir / "ws");
  ::setenv("ENCLAVE_HOME", (dir / "ws").c_str(), 1);
  EXPECT_EQ(find_workspace({.start = "/"}), dir / "ws");
  // --workspace wins over the environment.
  init_workspace(dir / "other");
  EXPECT_EQ(find_workspace({.workspace = (dir / "other").string()}), dir / "other");
}

TEST(Workspace, NotFoundSaysHowToCreateOne) {
  ScratchDir dir;
  EnvGuard env("ENCLAVE_HOME");
  ::unsetenv("ENCLAVE_HOME");
  try {
    find_workspace({.start = dir.path()});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("enclave init"), std::string::npos) << e.what();
  }
  EXPECT_THROW(find_workspace({.workspace = dir.path().string()}), Error);
  ::setenv("ENCLAVE_HOME", dir.path().c_str(), 1);
  EXPECT_THROW(find_workspace({}), Error);
}

TEST(Workspace, RefusesSymlinkedStoreFolders) {
  ScratchDir dir;
  std::filesystem::create_directories(dir / "elsewhere");
  std::filesystem::create_directories(dir / "ws");
  std::filesystem::create_directory_symlink(dir / "elsewhere", dir / "ws/.enclave");
  EXPECT_THROW(init_workspace(dir / "ws"), Error);
  EXPECT_TRUE(std::filesystem::is_empty(dir / "elsewhere"));

  init_workspace(dir / "ws2");
  std::filesystem::remove_all(dir / "ws2/.enclave/objects");
  std::filesystem::create_directory_symlink(dir / "elsewhere", dir / "ws2/.enclave/objects");
  EXPECT_THROW(Workspace ws(dir / "ws2"), Error);
}

TEST(Workspace, RefusesNewerSchema) {
  ScratchDir dir;
  init_workspace(dir.path());
  {
    Db db(dir / ".enclave/enclave.db");
    db.exec("INSERT INTO schema_version (version, applied_at) VALUES (999, 0)");
  }
  try {
    Workspace ws(dir.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("999"), std::string::npos) << e.what();
  }
}

TEST(Workspace, MigratesAnEmptyDatabaseOnce) {
  ScratchDir dir;
  Db db(dir / "x.db", {.create = true});
  EXPECT_EQ(schema_version(db), 0);
  migrate(db);
  migrate(db);
  EXPECT_EQ(schema_version(db), latest_schema_version());
  Statement count(db, "SELECT COUNT(*) FROM schema_version");
  count.step();
  EXPECT_EQ(count.int64(0), latest_schema_version());
}

TEST(Workspace, StoreLockExcludesGcWhileWritersHoldIt) {
  ScratchDir dir;
  init_workspace(dir.path());
  Workspace ws(dir.path());
  StoreLock writer(ws, StoreLock::Mode::kShared);
  StoreLock other_writer(ws, StoreLock::Mode::kShared);
  EXPECT_THROW(StoreLock gc(ws, StoreLock::Mode::kExclusive, std::chrono::milliseconds(100)),
               Error);
}

}  // namespace
}  // namespace enclave::store
