#include "store/audit.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>

#include "core/error.h"
#include "store/audit_anchor.h"
#include "store/audit_key.h"
#include "store/registry.h"
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
  tamper(fmt::format(
      "INSERT INTO audit_log VALUES (6, '{}', '{}', 'alias', '{}', '{}', '{}', '{}', '')",
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
                  "'{{}}', '{}', '{}', '')",
                  fake.time, fake.prev_hash, fake.hash));
  AuditReport r = verify_audit(ws_->db());
  EXPECT_FALSE(r.ok());
  EXPECT_GE(r.problems.size(), 2u) << format_audit_report(r);
}

// A workspace whose log is keyed from its second entry on (the init entry
// is a plain one, as in a workspace made before keys existed).
class KeyedAuditTest : public ::testing::Test {
 protected:
  KeyedAuditTest() {
    init_workspace(ws_dir_);
    testing::write_text(key_file_, std::string(40, 'k'));
    std::filesystem::permissions(
        key_file_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    set_audit_key_file(key_file_);
    ws_ = std::make_unique<Workspace>(ws_dir_);
    for (int i = 2; i <= 5; ++i) append("register", "model m@" + std::to_string(i));
  }
  ~KeyedAuditTest() override { set_audit_key_file(""); }
  void append(const std::string& action, const std::string& object) {
    WriteTransaction tx(ws_->db());
    append_audit(ws_->db(), action, object, {{"by", "test"}});
    tx.commit();
  }
  void tamper(const std::string& sql) {
    ws_->db().exec(
        "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;");
    ws_->db().exec(sql);
  }
  // Rewrites every entry from `from` on with `user`, relinking the chain and
  // the head with recompute(entry) as each entry's hash.
  void rewrite(std::int64_t from, const std::function<std::string(const AuditEntry&)>& recompute) {
    std::vector<AuditEntry> entries = list_audit(ws_->db());
    std::string prev = entries[from - 2].hash;
    for (std::size_t i = from - 1; i < entries.size(); ++i) {
      AuditEntry e = entries[i];
      e.user = "mallory";
      e.prev_hash = prev;
      e.hash = recompute(e);
      tamper(fmt::format(
          "UPDATE audit_log SET user = 'mallory', prev_hash = '{}', hash = '{}' WHERE seq = {}",
          e.prev_hash, e.hash, e.seq));
      prev = e.hash;
    }
    tamper(fmt::format("UPDATE audit_head SET hash = '{}'", prev));
    testing::write_text(ws_->dot_dir() / "audit.head",
                        nlohmann::json{{"seq", entries.back().seq}, {"hash", prev}}.dump());
  }
  static bool mentions(const AuditReport& r, const std::string& word) {
    for (const AuditProblem& p : r.problems)
      if (p.reason.find(word) != std::string::npos) return true;
    return false;
  }
  ScratchDir dir_;
  const std::filesystem::path ws_dir_ = dir_.path() / "ws";
  const std::filesystem::path key_file_ = dir_.path() / "audit.key";
  std::unique_ptr<Workspace> ws_;
};

TEST_F(KeyedAuditTest, KeyedChainVerifiesWithTheKeyOnly) {
  AuditReport r = verify_audit(ws_->db());
  EXPECT_TRUE(r.ok()) << format_audit_report(r);
  std::vector<AuditEntry> entries = list_audit(ws_->db());
  EXPECT_EQ(entries[0].hash.find("hmac-sha256:"), std::string::npos);  // the legacy entry
  EXPECT_EQ(entries[1].hash.find("hmac-sha256:"), 0u);
  set_audit_key_file("");
  r = verify_audit(ws_->db());
  EXPECT_TRUE(mentions(r, "keyed")) << format_audit_report(r);
  // Changing a keyed workspace without the key is refused.
  EXPECT_THROW(append("tag", "model m@2"), Error);
}

TEST_F(KeyedAuditTest, RewriteWithRecomputedPlainHashesIsCaught) {
  rewrite(3, [](const AuditEntry& e) { return audit_entry_hash(e); });
  AuditReport r = verify_audit(ws_->db());
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(mentions(r, "no MAC")) << format_audit_report(r);
}

TEST_F(KeyedAuditTest, RemovedHeadIsCaught) {
  tamper("DELETE FROM audit_log WHERE seq = 5; DELETE FROM audit_head;");
  std::filesystem::remove(ws_->dot_dir() / "audit.head");
  AuditReport r = verify_audit(ws_->db());
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(mentions(r, "head record is missing")) << format_audit_report(r);
  EXPECT_TRUE(mentions(r, "audit.head is missing")) << format_audit_report(r);
}

TEST_F(KeyedAuditTest, AnchorTakenBeforeARewriteCatchesIt) {
  const std::filesystem::path anchor = dir_.path() / "anchor.json";
  write_audit_anchor(ws_->db(), ws_->root(), anchor);
  EXPECT_TRUE(check_audit_anchor(ws_->db(), anchor).empty());
  append("tag", "model m@3");
  EXPECT_TRUE(check_audit_anchor(ws_->db(), anchor).empty());
  // Someone holding the key rewrites history: the chain verifies, the anchor does not.
  const AuditKey key = *audit_key();
  rewrite(2, [&](const AuditEntry& e) { return audit_entry_mac(e, key); });
  std::vector<AuditEntry> entries = list_audit(ws_->db());
  testing::write_text(
      ws_->dot_dir() / "audit.head",
      nlohmann::json{{"seq", entries.back().seq},
                     {"hash", entries.back().hash},
                     {"mac", audit_mac(key, fmt::format("audit.head\n{}\n{}", entries.back().seq,
                                                        entries.back().hash))}}
          .dump());
  EXPECT_TRUE(verify_audit(ws_->db()).ok()) << format_audit_report(verify_audit(ws_->db()));
  std::vector<AuditProblem> problems = check_audit_anchor(ws_->db(), anchor);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].reason.find("rewritten"), std::string::npos) << problems[0].reason;
  // An edited anchor does not verify.
  std::string text = testing::read_text(anchor);
  text.replace(text.find("\"seq\": "), 8, "\"seq\": 1");
  testing::write_text(anchor, text);
  problems = check_audit_anchor(ws_->db(), anchor);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].reason.find("signature"), std::string::npos) << problems[0].reason;
}

TEST_F(KeyedAuditTest, RegistryRowsBehindTheLogsBackAreCaught) {
  const std::filesystem::path model = dir_.path() / "model";
  testing::write_model_dir(model, "a");
  register_version(*ws_, {.name = "tiny", .source = model});
  set_alias(*ws_, RegistryKind::kModel, "tiny@1", "production");
  EXPECT_TRUE(verify_audit(ws_->db()).ok()) << format_audit_report(verify_audit(ws_->db()));
  ws_->db().exec(
      "INSERT INTO registry_versions (kind, name, version, artifact, created_at)"
      " SELECT kind, name, 2, artifact, created_at FROM registry_versions WHERE version = 1;"
      "UPDATE registry_aliases SET version_id = (SELECT MAX(id) FROM registry_versions);");
  AuditReport r = verify_audit(ws_->db());
  EXPECT_TRUE(mentions(r, "model tiny@2 has no register entry")) << format_audit_report(r);
  EXPECT_TRUE(mentions(r, "alias model tiny:production points at version 2"))
      << format_audit_report(r);
}

TEST_F(KeyedAuditTest, KeyInsideTheWorkspaceIsRefused) {
  const std::filesystem::path inside = ws_dir_ / "audit.key";
  testing::write_text(inside, std::string(40, 'k'));
  std::filesystem::permissions(inside, std::filesystem::perms::owner_read);
  set_audit_key_file(inside);
  EXPECT_THROW(append("tag", "model m@2"), Error);
}

}  // namespace
}  // namespace enclave::store
