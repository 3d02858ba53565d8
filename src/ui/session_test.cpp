#include "ui/session.h"

#include <gtest/gtest.h>

namespace enclave::ui {
namespace {

TEST(SessionTest, SessionsCarryScopesAndExpire) {
  Sessions sessions(std::chrono::seconds(60));
  const auto now = Sessions::Clock::now();
  const std::string id = sessions.create("key:ops", {store::Scope::kRead}, now);
  EXPECT_EQ(id.size(), 64u);
  auto s = sessions.find(id, now + std::chrono::seconds(59));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->actor, "key:ops");
  EXPECT_TRUE(s->scopes.allows(store::Scope::kRead));
  EXPECT_FALSE(s->scopes.allows(store::Scope::kApprove));
  EXPECT_EQ(s->csrf.size(), 64u);
  EXPECT_NE(s->csrf, id);
  EXPECT_FALSE(sessions.find(id, now + std::chrono::seconds(61)).has_value());
  EXPECT_FALSE(sessions.find("nope", now).has_value());
}

TEST(SessionTest, RemovedSessionsAreGone) {
  Sessions sessions;
  const std::string id = sessions.create("alice", {store::Scope::kAdmin});
  EXPECT_NE(id, sessions.create("alice", {store::Scope::kAdmin}));
  sessions.remove(id);
  EXPECT_FALSE(sessions.find(id).has_value());
  EXPECT_EQ(sessions.size(), 1u);
}

TEST(SessionTest, CookiesAreParsedAndWrittenStrict) {
  EXPECT_EQ(cookie_value("a=1; enclave_session=abc; b=2", "enclave_session"), "abc");
  EXPECT_EQ(cookie_value("enclave_session=x", "enclave_session"), "x");
  EXPECT_EQ(cookie_value("xenclave_session=x; other=1", "enclave_session"), "");
  EXPECT_EQ(cookie_value("", "enclave_session"), "");
  const std::string cookie = session_cookie("enclave_session_8080", "abc", /*secure=*/false);
  EXPECT_EQ(cookie.rfind("enclave_session_8080=abc;", 0), 0u) << cookie;
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_EQ(cookie.find("Secure"), std::string::npos);
  EXPECT_NE(session_cookie("s", "abc", true).find("; Secure"), std::string::npos);
  EXPECT_NE(session_cookie("s", "", false).find("Max-Age=0"), std::string::npos);
  // One name per port, so two dashboards on one host keep their own sessions.
  EXPECT_EQ(session_cookie_name(8080), "enclave_session_8080");
  EXPECT_NE(session_cookie_name(8080), session_cookie_name(8081));
  EXPECT_EQ(
      cookie_value("enclave_session_8080=a; enclave_session_8081=b", session_cookie_name(8081)),
      "b");
}

TEST(SessionTest, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_NE(random_hex(16), random_hex(16));
}

}  // namespace
}  // namespace enclave::ui
