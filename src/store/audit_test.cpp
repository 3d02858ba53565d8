#include "store/audit.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "store/store_testing.h"
#include "store/workspace.h"

namespace enclave::store {
namespace {

using testing::ScratchDir;

class AuditTest : public ::testing::Test {
 protected:
  AuditTest() {
    init_workspace(dir_.path());  // entry 1: init
    ws_ = std::make_unique<Workspace>(dir_.path());
    for (int i = 2; i <= 5; ++i) {
      WriteTransaction tx(ws_->db());
      append_audit(ws_->db(), "register", "model m@" + std::to_string(i), {{"i", i}});
      tx.commit();
    }
  }
  // What an attacker with the database file can do: drop the guard triggers.
  void tamper(const std::string& sql) {
    ws_->db().exec(
        "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;");
    ws_->db().exec(sql);
  }
  ScratchDir dir_;
  std::unique_ptr<Workspace> ws_;
};

TEST_F(AuditTest, IntactChainVerifies) {
  AuditReport r = verify_audit(ws_->db());
  EXPECT_TRUE(r.ok()) << format_audit_report(r);
  EXPECT_EQ(r.n_entries, 5);
  std::vector<AuditEntry> entries = list_audit(ws_->db());
  EXPECT_EQ(entries.front().prev_hash, std::string(64, '0'));
  EXPECT_EQ(entries[1].prev_hash, entries[0].hash);
  EXPECT_EQ(list_audit(ws_->db(), {.limit = 2}).front().seq, 4);
  EXPECT_EQ(list_audit(ws_->db(), {.action = "init"}).size(), 1u);
}

TEST_F(AuditTest, AppendOutsideATransactionIsAProgrammerError) {
  EXPECT_THROW(append_audit(ws_->db(), "x", "y"), Error);
}

TEST_F(AuditTest, TriggersRefuseAccidentalEdits) {
  EXPECT_THROW(ws_->db().exec("UPDATE audit_log SET user = 'x'"), Error);
  EXPECT_THROW(ws_->db().exec("DELETE FROM audit_log"), Error);
}

TEST_F(AuditTest, DetectsAnEditedEntry) {
  tamper("UPDATE audit_log SET object = 'model evil@1' WHERE seq = 3");
  AuditReport r = verify_audit(ws_->db());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.problems[0].seq, 3);
  EXPECT_NE(r.problems[0].reason.find("edited"), std::string::npos);
}

TEST_F(AuditTest, DetectsAnEditThatRecomputedItsOwnHash) {
  std::vector<AuditEntry> entries = list_audit(ws_->db());
  AuditEntry e = entries[2];
  e.user = "mallory";
  e.hash = audit_entry_hash(e);
  tamper("UPDATE audit_log SET user = 'mallory', hash = '" + e.hash + "' WHERE seq = 3");
  AuditReport r = verify_audit(ws_->db());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.problems[0].seq, 4);  // the next entry no longer links to it
}

TEST_F(AuditTest, DetectsADeletedEntry) {
  tamper("DELETE FROM audit_log WHERE seq = 2");
  AuditReport r = verify_audit(ws_->db());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.problems[0].reason.find("missing"), std::string::npos);
}

TEST_F(AuditTest, DetectsTheNewestEntryDeleted) {
  tamper("DELETE FROM audit_log WHERE seq = 5");
  AuditReport r = verify_audit(ws_->db());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.problems[0].reason.find("head"), std::string::npos);
}

TEST_F(AuditTest, DetectsAnInsertedEntry) {
  std::vector<AuditEntry> entries = list_audit(ws_->db());
  // Squeezed in at the end without updating the head...
  AuditEntry fake = entries.back();
  fake.seq = 6;
  fake.action = "alias";
  fake.prev_hash = entries.back().hash;
  fake.hash = audit_entry_hash(fake);
  tamper(
      fmt::format("INSERT INTO audit_log VALUES (6, '{}', '{}', 'alias', '{}', '{}', '{}', '{}')",
                  fake.time, fake.user, fake.object, fake.details, fake.prev_hash, fake.hash));
  EXPECT_FALSE(verify_audit(ws_->db()).ok());
}

TEST_F(AuditTest, DetectsAnEntryInsertedInTheMiddle) {
  tamper("UPDATE audit_log SET seq = seq + 10 WHERE seq >= 3");
  AuditEntry fake{3,    "2024-01-01T00:00:00.000Z", "mallory", "alias", "model m:prod",
                  "{}", std::string(64, '0'),       ""};
  fake.hash = audit_entry_hash(fake);
  tamper(
      fmt::format("INSERT INTO audit_log VALUES (3, '{}', 'mallory', 'alias', 'model m:prod', "
                  "'{{}}', '{}', '{}')",
                  fake.time, fake.prev_hash, fake.hash));
  AuditReport r = verify_audit(ws_->db());
  EXPECT_FALSE(r.ok());
  EXPECT_GE(r.problems.size(), 2u) << format_audit_report(r);
}

}  // namespace
}  // namespace enclave::store
