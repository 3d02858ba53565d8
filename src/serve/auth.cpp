#include "serve/auth.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>

#include "core/error.h"
#include "core/file.h"
#include "core/hash.h"
#include "core/json.h"

namespace enclave::serve {
namespace {

constexpr const char* kFormat = "enclave-api-keys";
constexpr std::int64_t kVersion = 2;

bool is_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool valid_id(std::string_view id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// Equal-length comparison whose time does not depend on where they differ.
bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// The scopes of a version 1 entry: "infer" then covered every /v1 route,
// feedback included.
Scopes version1_scopes(const std::vector<std::string>& names, const std::string& where) {
  Scopes out;
  for (const std::string& s : names) {
    if (s == "infer") {
      out.add(Scope::kInfer);
      out.add(Scope::kFeedback);
    } else if (s == "admin") {
      out.add(Scope::kAdmin);
    } else {
      fail_input("{}: unknown scope '{}' (a version 1 file knows infer and admin)", where, s);
    }
  }
  return out;
}

nlohmann::json key_json(const ApiKey& key) {
  nlohmann::json j = {{"id", key.id}, {"sha256", key.sha256}};
  if (!key.role.empty()) j["role"] = key.role;
  j["scopes"] = key.scopes.names();
  j["requests_per_minute"] = key.requests_per_minute;
  return j;
}

// One entry of the file, validated (`at` names it in errors).
ApiKey parse_key(const nlohmann::json& k, std::int64_t version, const std::string& at) {
  if (!k.is_object()) fail_input("{}: expected an object", at);
  ApiKey key;
  key.id = json_string(k, "id", at);
  if (!valid_id(key.id))
    fail_input("{}: field 'id': '{}' is not 1..128 of [A-Za-z0-9._-]", at, key.id);
  key.sha256 = json_string(k, "sha256", at);
  if (!is_hex64(key.sha256)) fail_input("{}: field 'sha256': expected 64 lowercase hex digits", at);
  if (version >= 2 && k.contains("role")) {
    key.role = json_string(k, "role", at);
    key.scopes = store::role_scopes_or_fail(key.role, at + ": field 'role'");
  }
  auto scopes = k.find("scopes");
  if (scopes != k.end() || key.role.empty()) {
    if (scopes == k.end() || !scopes->is_array() || scopes->empty())
      fail_input("{}: field 'scopes': expected a non-empty array of scope names", at);
    std::vector<std::string> names;
    for (const nlohmann::json& s : *scopes) {
      if (!s.is_string()) fail_input("{}: field 'scopes': expected strings", at);
      names.push_back(s.get<std::string>());
    }
    const std::string where = at + ": field 'scopes'";
    const Scopes listed =
        version == 1 ? version1_scopes(names, where) : store::parse_scopes(names, where);
    if (!key.role.empty() && !(listed == key.scopes)) {
      fail_input("{}: field 'scopes' does not match the scopes of the role '{}'", at, key.role);
    }
    key.scopes = listed;
  }
  const std::int64_t rpm = json_int(k, "requests_per_minute", at, 0);
  if (rpm < 0 || rpm > 1'000'000'000)
    fail_input("{}: field 'requests_per_minute': {} is out of range", at, rpm);
  key.requests_per_minute = static_cast<int>(rpm);
  return key;
}

}  // namespace

ApiKeys ApiKeys::from_json_text(std::string_view text, std::string_view what) {
  const nlohmann::json doc = parse_json(text, what);
  const std::string w(what);
  if (!doc.is_object()) fail_input("{}: expected a JSON object", w);
  if (json_string(doc, "format", w) != kFormat)
    fail_input("{}: field 'format': expected '{}'", w, kFormat);
  const std::int64_t version = json_int(doc, "version", w);
  if (version != 1 && version != kVersion)
    fail_input("{}: field 'version': {} is not supported (expected 1 or {})", w, version, kVersion);
  auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_array()) fail_input("{}: field 'keys': expected an array", w);
  ApiKeys out;
  std::set<std::string> ids;
  std::set<std::string> hashes;
  for (std::size_t i = 0; i < keys->size(); ++i) {
    const std::string at = fmt::format("{}: keys[{}]", w, i);
    ApiKey key = parse_key((*keys)[i], version, at);
    if (!ids.insert(key.id).second) fail_input("{}: field 'id': '{}' appears twice", at, key.id);
    if (!hashes.insert(key.sha256).second)
      fail_input("{}: field 'sha256': the same key appears twice", at);
    out.keys_.push_back(std::move(key));
  }
  return out;
}

ApiKeys ApiKeys::load(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path))
    fail(ErrorKind::kNotFound, "{}: API keys file not found", path.string());
  return from_json_text(read_file(path), path.string());
}

const ApiKey* ApiKeys::authenticate(std::string_view presented) const {
  if (presented.empty()) return nullptr;
  const std::string hash = sha256_hex(presented);
  const ApiKey* found = nullptr;
  for (const ApiKey& key : keys_) {
    if (constant_time_equal(hash, key.sha256)) found = &key;  // no early exit
  }
  return found;
}

std::optional<std::string> bearer_token(std::string_view authorization) {
  constexpr std::string_view kPrefix = "Bearer ";
  if (authorization.size() <= kPrefix.size()) return std::nullopt;
  std::string scheme(authorization.substr(0, kPrefix.size()));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (scheme != "bearer ") return std::nullopt;
  std::string_view token = authorization.substr(kPrefix.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return std::string(token);
}

namespace {

std::string new_secret() {
  std::random_device random;  // /dev/urandom on Linux
  std::string secret = "sk-enclave-";
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 48; ++i) secret += kHex[random() & 15];
  return secret;
}

// The file's document, validated and in the current version (a version 1
// file's entries with their scopes spelled out); with `must_exist` false a
// missing file is an empty one.
nlohmann::json read_keys_doc(const std::filesystem::path& path, bool must_exist) {
  nlohmann::json doc = {
      {"format", kFormat}, {"version", kVersion}, {"keys", nlohmann::json::array()}};
  if (!must_exist && !std::filesystem::exists(path)) return doc;
  const ApiKeys keys = ApiKeys::load(path);
  for (const ApiKey& key : keys.keys()) doc["keys"].push_back(key_json(key));
  return doc;
}

// Keys files hold hashes only, but still say who may do what: owner-only.
void write_keys_doc(const std::filesystem::path& path, const nlohmann::json& doc) {
  write_file_atomic(path, doc.dump(2) + "\n");
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
      std::filesystem::perm_options::replace);
}

nlohmann::json& key_entry(nlohmann::json& doc, const std::filesystem::path& path,
                          const std::string& id) {
  for (nlohmann::json& k : doc["keys"]) {
    if (k["id"] == id) return k;
  }
  fail(ErrorKind::kNotFound, "{}: no key with id '{}'", path.string(), id);
}

}  // namespace

void revoke_api_key(const std::filesystem::path& path, const std::string& id) {
  nlohmann::json doc = read_keys_doc(path, /*must_exist=*/true);
  key_entry(doc, path, id);
  nlohmann::json kept = nlohmann::json::array();
  for (const nlohmann::json& k : doc["keys"])
    if (k["id"] != id) kept.push_back(k);
  doc["keys"] = kept;
  write_keys_doc(path, doc);
}

std::string rotate_api_key(const std::filesystem::path& path, const std::string& id) {
  nlohmann::json doc = read_keys_doc(path, /*must_exist=*/true);
  const std::string secret = new_secret();
  key_entry(doc, path, id)["sha256"] = sha256_hex(secret);
  write_keys_doc(path, doc);
  return secret;
}

nlohmann::json api_keys_json(const ApiKeys& keys) {
  nlohmann::json out = nlohmann::json::array();
  for (const ApiKey& k : keys.keys()) {
    nlohmann::json j = key_json(k);
    j.erase("sha256");
    j["sha256_prefix"] = k.sha256.substr(0, 12);
    out.push_back(j);
  }
  return out;
}

std::string format_api_keys(const ApiKeys& keys) {
  if (keys.size() == 0) return "no keys\n";
  std::string out =
      fmt::format("{:<24} {:<10} {:<28} {:>10}  {}\n", "ID", "ROLE", "SCOPES", "REQ/MIN", "SHA256");
  for (const ApiKey& k : keys.keys()) {
    std::string scopes;
    for (const std::string& s : k.scopes.names()) scopes += (scopes.empty() ? "" : ",") + s;
    out += fmt::format(
        "{:<24} {:<10} {:<28} {:>10}  {}...\n", k.id, k.role.empty() ? "-" : k.role, scopes,
        k.requests_per_minute == 0 ? std::string("-") : std::to_string(k.requests_per_minute),
        k.sha256.substr(0, 12));
  }
  return out;
}

KeyFile::KeyFile(std::filesystem::path path) : path_(std::move(path)) {
  stamp_ = stamp();
  versions_.push_back(std::make_unique<const ApiKeys>(ApiKeys::load(path_)));
  checked_ = std::chrono::steady_clock::now();
}

KeyFile::Stamp KeyFile::stamp() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return {};
  return {static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_size),
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

bool KeyFile::reload(std::string* error) {
  std::lock_guard lock(mutex_);
  stamp_ = stamp();
  checked_ = std::chrono::steady_clock::now();
  try {
    versions_.push_back(std::make_unique<const ApiKeys>(ApiKeys::load(path_)));
    return true;
  } catch (const std::exception& e) {
    if (error) *error = e.what();
    return false;
  }
}

const ApiKey* KeyFile::authenticate(std::string_view presented) {
  bool changed = false;
  {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now - checked_ >= std::chrono::seconds(1)) {
      checked_ = now;
      changed = !(stamp() == stamp_);
    }
  }
  if (changed) {
    std::string error;
    if (!reload(&error)) std::fprintf(stderr, "enclave serve: keys file kept: %s\n", error.c_str());
  }
  std::lock_guard lock(mutex_);
  return versions_.back()->authenticate(presented);
}

std::string add_api_key(const std::filesystem::path& path, const std::string& id,
                        const std::vector<std::string>& scopes, int requests_per_minute,
                        const std::string& role) {
  nlohmann::json doc = read_keys_doc(path, /*must_exist=*/false);
  for (const nlohmann::json& k : doc["keys"]) {
    if (k["id"] == id) fail_input("{}: a key with id '{}' already exists", path.string(), id);
  }
  ApiKey key;
  key.id = id;
  if (!valid_id(id)) fail_input("key id '{}' is not 1..128 of [A-Za-z0-9._-]", id);
  if (!role.empty() && !scopes.empty()) fail_input("give a role or scopes, not both");
  if (!role.empty()) {
    key.role = role;
    key.scopes = store::role_scopes_or_fail(role, "--role");
  } else {
    key.scopes = store::parse_scopes(scopes, "--scope");
  }
  if (key.scopes.empty()) fail_input("a key needs a role (--role) or at least one scope (--scope)");
  if (requests_per_minute < 0)
    fail_input("requests per minute: must be >= 0, got {}", requests_per_minute);
  key.requests_per_minute = requests_per_minute;
  const std::string secret = new_secret();
  key.sha256 = sha256_hex(secret);
  doc["keys"].push_back(key_json(key));
  write_keys_doc(path, doc);
  return secret;
}

std::optional<double> RateLimiter::acquire(const std::string& key_id, int per_minute,
                                           Clock::time_point now) {
  if (per_minute <= 0) return std::nullopt;
  std::lock_guard lock(mutex_);
  const double capacity = per_minute;
  const double rate = per_minute / 60.0;  // tokens per second
  auto [it, inserted] = buckets_.try_emplace(key_id, Bucket{capacity, now});
  Bucket& b = it->second;
  if (!inserted) {
    const double elapsed = std::chrono::duration<double>(now - b.updated).count();
    b.tokens = std::min(capacity, b.tokens + std::max(0.0, elapsed) * rate);
    b.updated = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::nullopt;
  }
  return (1.0 - b.tokens) / rate;
}

}  // namespace enclave::serve
