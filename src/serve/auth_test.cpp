#include "serve/auth.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/file.h"
#include "core/hash.h"
#include "core/scratch_dir_testing.h"

namespace enclave::serve {
namespace {

std::string keys_text(const std::string& entries) {
  return R"({"format": "enclave-api-keys", "version": 1, "keys": [)" + entries + "]}";
}

std::string entry(const std::string& id, const std::string& key,
                  const std::string& scopes = R"(["infer"])", int rpm = 0) {
  return fmt::format(R"({{"id": "{}", "sha256": "{}", "scopes": {}, "requests_per_minute": {}}})",
                     id, sha256_hex(key), scopes, rpm);
}

TEST(ApiKeys, AuthenticatesByHashAndChecksScopes) {
  ApiKeys keys = ApiKeys::from_json_text(
      keys_text(entry("app", "secret-1") + "," + entry("ops", "secret-2", R"(["admin"])")),
      "keys.json");
  EXPECT_EQ(keys.size(), 2u);
  const ApiKey* app = keys.authenticate("secret-1");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->id, "app");
  EXPECT_TRUE(app->allows(Scope::kInfer));
  EXPECT_FALSE(app->allows(Scope::kAdmin));
  const ApiKey* ops = keys.authenticate("secret-2");
  ASSERT_NE(ops, nullptr);
  EXPECT_TRUE(ops->allows(Scope::kAdmin) && ops->allows(Scope::kInfer));
  EXPECT_EQ(keys.authenticate("secret-3"), nullptr);
  EXPECT_EQ(keys.authenticate(""), nullptr);
  EXPECT_EQ(keys.authenticate(sha256_hex("secret-1")), nullptr);  // the hash is not the key
}

TEST(ApiKeys, RejectsMalformedFiles) {
  const std::string good = entry("a", "k");
  for (const std::string& text : {
           std::string("[]"),
           std::string(R"({"format": "other", "version": 1, "keys": []})"),
           std::string(R"({"format": "enclave-api-keys", "version": 3, "keys": []})"),
           std::string(R"({"format": "enclave-api-keys", "version": 1})"),
           keys_text(R"({"id": "a", "sha256": "abc", "scopes": ["infer"]})"),
           keys_text(R"({"id": "a", "sha256": ")" + std::string(64, 'A') +
                     R"(", "scopes": ["infer"]})"),
           keys_text(R"({"id": "../x", "sha256": ")" + sha256_hex("k") +
                     R"(", "scopes": ["infer"]})"),
           keys_text(good + "," + entry("a", "other")),
           keys_text(good + "," + entry("b", "k")),
           keys_text(entry("a", "k", R"(["root"])")),
           keys_text(entry("a", "k", "[]")),
           keys_text(entry("a", "k", R"(["infer"])", -1)),
       }) {
    EXPECT_THROW(ApiKeys::from_json_text(text, "keys.json"), Error) << text;
  }
  EXPECT_THROW(ApiKeys::load("/nonexistent/keys.json"), Error);
}

TEST(ApiKeys, AddedKeysAreStoredOnlyAsHashes) {
  const testing::ScratchDir dir("keys");
  const std::filesystem::path path = dir / "keys.json";
  const std::string key = add_api_key(path, "app", {"infer"}, 10);
  const std::string admin = add_api_key(path, "ops", {"infer", "admin"}, 0);
  EXPECT_THROW(add_api_key(path, "app", {"infer"}, 0), Error);
  EXPECT_THROW(add_api_key(path, "x", {"root"}, 0), Error);
  const std::string text = read_file(path);
  EXPECT_EQ(text.find(key), std::string::npos);
  ApiKeys keys = ApiKeys::load(path);
  ASSERT_NE(keys.authenticate(key), nullptr);
  EXPECT_EQ(keys.authenticate(key)->requests_per_minute, 10);
  EXPECT_TRUE(keys.authenticate(admin)->allows(Scope::kAdmin));
}

TEST(ApiKeys, RolesGiveTheirScopes) {
  const testing::ScratchDir dir("keys");
  const std::filesystem::path path = dir / "keys.json";
  const std::string viewer = add_api_key(path, "dash", {}, 0, "viewer");
  const std::string service = add_api_key(path, "app", {}, 0, "service");
  EXPECT_THROW(add_api_key(path, "x", {}, 0, "root"), Error);
  EXPECT_THROW(add_api_key(path, "y", {"infer"}, 0, "service"), Error);  // not both
  EXPECT_THROW(add_api_key(path, "z", {}, 0, ""), Error);                // neither
  ApiKeys keys = ApiKeys::load(path);
  const ApiKey* v = keys.authenticate(viewer);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->role, "viewer");
  EXPECT_TRUE(v->allows(Scope::kRead));
  EXPECT_FALSE(v->allows(Scope::kInfer));
  const ApiKey* s = keys.authenticate(service);
  EXPECT_TRUE(s->allows(Scope::kInfer) && s->allows(Scope::kFeedback));
  EXPECT_FALSE(s->allows(Scope::kRead) || s->allows(Scope::kApprove));
  const nlohmann::json listed = api_keys_json(keys);
  EXPECT_EQ(listed[0]["role"], "viewer");
  EXPECT_EQ(listed[1]["scopes"], nlohmann::json({"infer", "feedback"}));
  EXPECT_NE(format_api_keys(keys).find("service"), std::string::npos);
  // A role and scopes that disagree, and a role unknown, are refused.
  const std::string v2 = R"({"format": "enclave-api-keys", "version": 2, "keys": [)";
  for (const std::string& bad : {
           R"({"id": "a", "sha256": ")" + sha256_hex("k") +
               R"(", "role": "viewer", "scopes": ["infer"]})",
           R"({"id": "a", "sha256": ")" + sha256_hex("k") + R"(", "role": "boss"})",
           R"({"id": "a", "sha256": ")" + sha256_hex("k") + R"(", "scopes": ["write"]})",
       }) {
    EXPECT_THROW(ApiKeys::from_json_text(v2 + bad + "]}", "keys.json"), Error) << bad;
  }
}

TEST(ApiKeys, Version1InferStillCoversFeedbackAndIsRewrittenAsVersion2) {
  const testing::ScratchDir dir("keys");
  const std::filesystem::path path = dir / "keys.json";
  write_file_atomic(path, keys_text(entry("old", "secret-1")));
  EXPECT_TRUE(ApiKeys::load(path).authenticate("secret-1")->allows(Scope::kFeedback));
  EXPECT_THROW(ApiKeys::from_json_text(keys_text(entry("a", "k", R"(["read"])")), "k.json"), Error);
  add_api_key(path, "new", {"read"}, 0);
  const nlohmann::json doc = nlohmann::json::parse(read_file(path));
  EXPECT_EQ(doc["version"], 2);
  EXPECT_EQ(doc["keys"][0]["scopes"], nlohmann::json({"infer", "feedback"}));
  EXPECT_NE(ApiKeys::load(path).authenticate("secret-1"), nullptr);
}

TEST(BearerToken, ParsesTheAuthorizationHeader) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer  abc "), "abc");
  EXPECT_EQ(bearer_token("Basic abc"), std::nullopt);
  EXPECT_EQ(bearer_token("Bearer "), std::nullopt);
  EXPECT_EQ(bearer_token(""), std::nullopt);
}

TEST(RateLimiter, AllowsABurstThenRefillsAtTheRate) {
  RateLimiter limiter;
  const auto t0 = RateLimiter::Clock::now();
  EXPECT_FALSE(limiter.acquire("a", 2, t0));
  EXPECT_FALSE(limiter.acquire("a", 2, t0));
  std::optional<double> wait = limiter.acquire("a", 2, t0);
  ASSERT_TRUE(wait);
  EXPECT_NEAR(*wait, 30.0, 1e-6);             // 2 per minute: one token every 30 s
  EXPECT_FALSE(limiter.acquire("b", 2, t0));  // keys have separate buckets
  EXPECT_FALSE(limiter.acquire("a", 2, t0 + std::chrono::seconds(31)));
  EXPECT_TRUE(limiter.acquire("a", 2, t0 + std::chrono::seconds(31)));
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(limiter.acquire("c", 0, t0));  // 0 = unlimited
}

}  // namespace
}  // namespace enclave::serve
