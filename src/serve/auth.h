// API keys and per-key rate limits. The keys file stores only the sha256 of
// each key (as `sha256sum` prints it), never the key, with its scopes (or
// the role they come from) and limit:
//
//   {"format": "enclave-api-keys", "version": 2,
//    "keys": [{"id": "reports-app", "sha256": "<64 hex>", "role": "service",
//              "scopes": ["infer", "feedback"], "requests_per_minute": 600}]}
//
// Scopes and roles are store/roles.h's. On the server: "infer" for the
// completion endpoints, "feedback" for /v1/feedback, "read" or "infer" for
// /v1/models and /metrics, "admin" for /admin/* (admin implies every scope).
// A key with a "role" has exactly that role's scopes ("scopes" may then be
// left out; if given it must agree). Version 1 files knew only "infer" (all
// of /v1, feedback included) and "admin": their "infer" reads as infer and
// feedback, and a file rewritten by add, revoke or rotate becomes version 2.
// A presented key is hashed and compared with every stored hash in constant
// time, so neither the match nor its position leaks through timing.
// Thread safety: ApiKeys is immutable after load; RateLimiter is internally
// locked and safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/roles.h"

namespace enclave::serve {

using store::Scope;
using store::Scopes;

struct ApiKey {
  std::string id;
  std::string sha256;  // 64 lowercase hex
  Scopes scopes;
  std::string role;             // "" when given scopes, not a role
  int requests_per_minute = 0;  // 0 = unlimited

  bool allows(Scope scope) const { return scopes.allows(scope); }
};

class ApiKeys {
 public:
  // Reads and validates the keys file. Throws Error(kNotFound) for a missing
  // file, Error(kInvalidInput) naming the file and field for a wrong format
  // or version, a bad or duplicate id, a hash that is not 64 hex digits, a
  // duplicate hash, an unknown scope or role, a role whose scopes differ from
  // the listed ones, or a negative limit.
  static ApiKeys load(const std::filesystem::path& path);
  static ApiKeys from_json_text(std::string_view text, std::string_view what);

  // The key whose hash matches, or nullptr. Empty keys never match.
  const ApiKey* authenticate(std::string_view presented) const;
  std::size_t size() const { return keys_.size(); }
  const std::vector<ApiKey>& keys() const { return keys_; }

 private:
  std::vector<ApiKey> keys_;
};

// The keys file of a running server, re-read when it changes (its inode,
// size or modification time, looked at no more than once a second) or when
// reload() is called (SIGHUP), so a revoked key stops working without a
// restart. A file that no longer parses keeps the keys in force (the
// server must not open up, nor lock everyone out, over a half-edited file)
// and the failure is reported. Keys handed out stay valid for the life of
// the object (each version of the file is kept; they are small and few).
// Thread safety: all methods may be called from any thread.
class KeyFile {
 public:
  // Loads the file; throws like ApiKeys::load.
  explicit KeyFile(std::filesystem::path path);
  // authenticate() on the current keys, after re-reading a changed file.
  const ApiKey* authenticate(std::string_view presented);
  // Re-reads the file now. Returns true if it was read (the keys may be the
  // same); on a bad file keeps the old keys, returns false and sets error.
  bool reload(std::string* error = nullptr);
  const std::filesystem::path& path() const { return path_; }

 private:
  struct Stamp {
    std::uint64_t inode = 0;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  Stamp stamp() const;

  const std::filesystem::path path_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<const ApiKeys>> versions_;  // back(): in force
  Stamp stamp_;
  std::chrono::steady_clock::time_point checked_;
};

// "Bearer <key>" -> "<key>"; nullopt for a missing or malformed header.
std::optional<std::string> bearer_token(std::string_view authorization);

// Adds a new random key to the keys file (created if missing, written
// atomically) and returns the key itself, which is shown once and not
// stored. The key gets `role`'s scopes when a role is given, else `scopes`.
// Throws like ApiKeys::load, and Error(kInvalidInput) for an id already
// present, an unknown scope or role, or both or neither given.
std::string add_api_key(const std::filesystem::path& path, const std::string& id,
                        const std::vector<std::string>& scopes, int requests_per_minute,
                        const std::string& role = "");
// Removes the key `id` from the file (atomically). Throws Error(kNotFound)
// for an unknown id or file, and like ApiKeys::load.
void revoke_api_key(const std::filesystem::path& path, const std::string& id);
// Gives the key `id` a new random secret (same scopes and limit) and returns
// it, shown once. Throws like revoke_api_key.
std::string rotate_api_key(const std::filesystem::path& path, const std::string& id);
// The keys of a file as `api-keys list` prints them: id, role, scopes, limit
// and the first 12 hex digits of the hash (never the whole hash).
nlohmann::json api_keys_json(const ApiKeys& keys);
std::string format_api_keys(const ApiKeys& keys);

// Token buckets, one per key id: capacity = the per-minute limit, refilled
// continuously at limit/60 per second, so bursts up to the limit pass and a
// steady rate above it gets 429s.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  // nullopt: allowed (a token was taken). Otherwise the seconds until the
  // next token, for Retry-After. per_minute <= 0 is unlimited.
  std::optional<double> acquire(const std::string& key_id, int per_minute,
                                Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
  };
  std::mutex mutex_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace enclave::serve
