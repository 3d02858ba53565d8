#include "store/users.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "store/audit.h"
#include "store/process_info.h"
#include "store/roles.h"
#include "store/store_testing.h"
#include "store/workspace.h"

namespace enclave::store {
namespace {

using testing::ScratchDir;

TEST(RolesTest, RolesAreTheirScopes) {
  EXPECT_EQ(role_scopes("viewer")->names(), std::vector<std::string>({"read"}));
  EXPECT_EQ(role_scopes("service")->names(), std::vector<std::string>({"infer", "feedback"}));
  EXPECT_EQ(role_scopes("developer")->names(),
            std::vector<std::string>({"read", "infer", "feedback", "approve"}));
  const Scopes admin = *role_scopes("admin");
  for (Scope s : {Scope::kRead, Scope::kInfer, Scope::kFeedback, Scope::kApprove, Scope::kAdmin})
    EXPECT_TRUE(admin.allows(s)) << scope_name(s);
  EXPECT_FALSE(role_scopes("viewer")->allows(Scope::kInfer));
  EXPECT_FALSE(role_scopes("developer")->allows(Scope::kAdmin));
  EXPECT_FALSE(role_scopes("root"));
  try {
    role_scopes_or_fail("root", "--role");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown role 'root'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_scopes({"infer", "write"}, "scopes"), Error);
  EXPECT_EQ(parse_scopes({"approve", "read"}, "scopes").names(),
            std::vector<std::string>({"read", "approve"}));
}

class UsersTest : public ::testing::Test {
 protected:
  UsersTest() {
    init_workspace(dir_.path());
    ws_ = std::make_unique<Workspace>(dir_.path());
  }
  ScratchDir dir_;
  std::unique_ptr<Workspace> ws_;
};

TEST_F(UsersTest, FirstUserMakesTheCallerAdminAndEveryChangeIsAudited) {
  const std::string me = os_user();
  ASSERT_NE(me, "analyst");
  std::vector<WorkspaceUser> added = add_user(ws_->db(), "analyst", "viewer");
  ASSERT_EQ(added.size(), 2u);
  EXPECT_EQ(added[0].name, me);
  EXPECT_EQ(added[0].role, "admin");
  EXPECT_EQ(user_role(ws_->db(), "analyst"), "viewer");
  add_user(ws_->db(), "analyst", "developer");  // a new role for the same user
  EXPECT_EQ(user_role(ws_->db(), "analyst"), "developer");
  EXPECT_EQ(list_users(ws_->db()).size(), 2u);
  EXPECT_THROW(add_user(ws_->db(), "-x", "viewer"), Error);
  EXPECT_THROW(add_user(ws_->db(), "bob", "root"), Error);
  // The last admin stays while others remain; an unknown user is not found.
  EXPECT_THROW(remove_user(ws_->db(), me), Error);
  try {
    remove_user(ws_->db(), "nobody");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
  remove_user(ws_->db(), "analyst");
  EXPECT_FALSE(user_role(ws_->db(), "analyst"));
  std::vector<AuditEntry> entries = list_audit(ws_->db());
  std::vector<std::string> actions;
  for (const AuditEntry& e : entries) {
    actions.push_back(e.action + " " + e.object);
    EXPECT_EQ(e.actor, me);
  }
  EXPECT_EQ(actions,
            std::vector<std::string>({"init " + dir_.path().string(), "user-add user " + me,
                                      "user-add user analyst", "user-add user analyst",
                                      "user-remove user analyst"}));
  EXPECT_TRUE(verify_audit(ws_->db()).ok()) << format_audit_report(verify_audit(ws_->db()));
}

TEST_F(UsersTest, CommandsNeedTheirScopeOnceTheWorkspaceHasUsers) {
  const std::string me = os_user();
  set_command_scope(Scope::kAdmin, "store gc");
  check_command_access(dir_.path());  // no users: anything goes
  add_user(ws_->db(), me, "viewer");
  set_command_scope(Scope::kRead, "models list");
  check_command_access(dir_.path());
  set_command_scope(Scope::kApprove, "models alias");
  try {
    check_command_access(dir_.path());
    FAIL() << "no error";
  } catch (const PermissionDenied& e) {
    const std::string m = e.what();
    for (const std::string& part : {"'" + me + "'", std::string("'viewer'"),
                                    std::string("'approve'"), std::string("models alias")})
      EXPECT_NE(m.find(part), std::string::npos) << m;
  }
  // Opening the workspace makes the same check.
  EXPECT_THROW(Workspace{dir_.path()}, PermissionDenied);
  set_command_scope(Scope::kRead, "models list");
  EXPECT_NO_THROW(Workspace{dir_.path()});
  clear_command_scope();
}

TEST_F(UsersTest, AuditActorIsHashedAndOldEntriesWithoutOneStillVerify) {
  {
    AuditActorScope actor("key:reports-app");
    WriteTransaction tx(ws_->db());
    append_audit(ws_->db(), "reload", "serve m@1");
    tx.commit();
  }
  std::vector<AuditEntry> entries = list_audit(ws_->db());
  EXPECT_EQ(entries.back().actor, "key:reports-app");
  // An entry as written before actors existed: no actor, hash without it.
  ws_->db().exec("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;");
  AuditEntry old;
  old.seq = entries.back().seq + 1;
  old.time = "2025-01-01T00:00:00Z";
  old.user = "alice";
  old.action = "tag";
  old.object = "model m@1";
  old.details = "{}";
  old.prev_hash = entries.back().hash;
  old.hash = audit_entry_hash(old);
  ws_->db().exec(fmt::format(
      "INSERT INTO audit_log (seq, time, user, action, object, details, prev_hash, hash) VALUES "
      "({}, '{}', 'alice', 'tag', 'model m@1', '{{}}', '{}', '{}');"
      "UPDATE audit_head SET seq = {}, hash = '{}';",
      old.seq, old.time, old.prev_hash, old.hash, old.seq, old.hash));
  {
    WriteTransaction tx(ws_->db());
    append_audit(ws_->db(), "tag", "model m@1");
    tx.commit();
  }
  EXPECT_EQ(list_audit(ws_->db()).back().actor, os_user());  // the key's scope ended
  EXPECT_TRUE(verify_audit(ws_->db()).ok()) << format_audit_report(verify_audit(ws_->db()));
  // Rewriting who did it breaks the chain.
  ws_->db().exec("UPDATE audit_log SET actor = 'alice' WHERE actor = 'key:reports-app'");
  EXPECT_FALSE(verify_audit(ws_->db()).ok());
}

}  // namespace
}  // namespace enclave::store
