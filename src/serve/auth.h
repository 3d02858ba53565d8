// API keys and per-key rate limits. The keys file stores only the sha256 of
// each key (as `sha256sum` prints it), never the key, with its scopes and
// limit:
//
//   {"format": "enclave-api-keys", "version": 1,
//    "keys": [{"id": "reports-app", "sha256": "<64 hex>",
//              "scopes": ["infer"], "requests_per_minute": 600}]}
//
// Scopes: "infer" (the /v1 endpoints), "admin" (/admin/*; implies infer).
// A presented key is hashed and compared with every stored hash in constant
// time, so neither the match nor its position leaks through timing.
// Thread safety: ApiKeys is immutable after load; RateLimiter is internally
// locked and safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace enclave::serve {

enum class Scope { kInfer, kAdmin };

struct ApiKey {
  std::string id;
  std::string sha256;  // 64 lowercase hex
  bool infer = false;
  bool admin = false;
  int requests_per_minute = 0;  // 0 = unlimited

  bool allows(Scope scope) const { return scope == Scope::kInfer ? (infer || admin) : admin; }
};

class ApiKeys {
 public:
  // Reads and validates the keys file. Throws Error(kNotFound) for a missing
  // file, Error(kInvalidInput) naming the file and field for a wrong format
  // or version, a bad or duplicate id, a hash that is not 64 hex digits, a
  // duplicate hash, an unknown scope or a negative limit.
  static ApiKeys load(const std::filesystem::path& path);
  static ApiKeys from_json_text(std::string_view text, std::string_view what);

  // The key whose hash matches, or nullptr. Empty keys never match.
  const ApiKey* authenticate(std::string_view presented) const;
  std::size_t size() const { return keys_.size(); }

 private:
  std::vector<ApiKey> keys_;
};

// "Bearer <key>" -> "<key>"; nullopt for a missing or malformed header.
std::optional<std::string> bearer_token(std::string_view authorization);

// Adds a new random key to the keys file (created if missing, written
// atomically) and returns the key itself, which is shown once and not
// stored. Throws like ApiKeys::load, and Error(kInvalidInput) for an id
// already present or an unknown scope.
std::string add_api_key(const std::filesystem::path& path, const std::string& id,
                        const std::vector<std::string>& scopes, int requests_per_minute);

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
