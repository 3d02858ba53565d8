// Scopes and roles: who may do what, on the server and on the command line.
// The unit is the scope:
//   read      look: list and show registry entries, runs, lineage, audit,
//             metrics, the served models
//   infer     run models: generate, eval, serve, the /v1 completion endpoints
//   feedback  give feedback on answers (/v1/feedback, `enclave feedback`)
//   approve   move what is in production: aliases, promotions, approvals
//   admin     everything (implies every other scope): workspace set-up,
//             users, API keys, deletion, gc, purges
// A role is a named set of scopes, given to API keys (serve/auth.h) and to
// the OS users of a shared workspace (store/users.h):
//   viewer    read
//   service   infer, feedback
//   developer read, infer, feedback, approve
//   admin     admin (all)
// Thread safety: stateless; safe from any thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace enclave::store {

enum class Scope : std::uint8_t { kRead, kInfer, kFeedback, kApprove, kAdmin };

// A set of scopes. allows() honours admin implying all.
class Scopes {
 public:
  Scopes() = default;
  Scopes(std::initializer_list<Scope> scopes) {
    for (Scope s : scopes) add(s);
  }
  void add(Scope s) { bits_ |= bit(s); }
  bool has(Scope s) const { return (bits_ & bit(s)) != 0; }
  bool allows(Scope s) const { return has(s) || has(Scope::kAdmin); }
  bool empty() const { return bits_ == 0; }
  bool operator==(const Scopes&) const = default;
  // The names in the order of the enum: ["read", "infer", ...].
  std::vector<std::string> names() const;

 private:
  static std::uint8_t bit(Scope s) { return static_cast<std::uint8_t>(1u << static_cast<int>(s)); }
  std::uint8_t bits_ = 0;
};

// "read", "infer", "feedback", "approve", "admin".
std::string_view scope_name(Scope scope);
// The scope of a name; nullopt for an unknown one.
std::optional<Scope> parse_scope(std::string_view name);
// The scopes of the names; throws Error(kInvalidInput) "WHERE: unknown
// scope 'x' (expected read, infer, feedback, approve or admin)".
Scopes parse_scopes(const std::vector<std::string>& names, std::string_view where);

// "viewer", "service", "developer", "admin".
std::span<const std::string_view> role_names();
// The scopes of a role; nullopt for an unknown one.
std::optional<Scopes> role_scopes(std::string_view role);
// role_scopes, throwing Error(kInvalidInput) "WHERE: unknown role 'x'
// (expected viewer, service, developer or admin)".
Scopes role_scopes_or_fail(std::string_view role, std::string_view where);

}  // namespace enclave::store
