#include "store/roles.h"

#include <fmt/format.h>

#include <array>
#include <utility>

#include "core/error.h"

namespace enclave::store {
namespace {

constexpr std::array<std::string_view, 5> kScopeNames = {"read", "infer", "feedback", "approve",
                                                         "admin"};
constexpr std::array<std::string_view, 4> kRoleNames = {"viewer", "service", "developer", "admin"};

}  // namespace

std::string_view scope_name(Scope scope) { return kScopeNames[static_cast<std::size_t>(scope)]; }

std::optional<Scope> parse_scope(std::string_view name) {
  for (std::size_t i = 0; i < kScopeNames.size(); ++i) {
    if (kScopeNames[i] == name) return static_cast<Scope>(i);
  }
  return std::nullopt;
}

std::vector<std::string> Scopes::names() const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kScopeNames.size(); ++i) {
    if (has(static_cast<Scope>(i))) out.emplace_back(kScopeNames[i]);
  }
  return out;
}

Scopes parse_scopes(const std::vector<std::string>& names, std::string_view where) {
  Scopes out;
  for (const std::string& name : names) {
    std::optional<Scope> s = parse_scope(name);
    if (!s) {
      fail_input("{}: unknown scope '{}' (expected read, infer, feedback, approve or admin)", where,
                 name);
    }
    out.add(*s);
  }
  return out;
}

std::span<const std::string_view> role_names() { return kRoleNames; }

std::optional<Scopes> role_scopes(std::string_view role) {
  if (role == "viewer") return Scopes{Scope::kRead};
  if (role == "service") return Scopes{Scope::kInfer, Scope::kFeedback};
  if (role == "developer")
    return Scopes{Scope::kRead, Scope::kInfer, Scope::kFeedback, Scope::kApprove};
  if (role == "admin") return Scopes{Scope::kAdmin};
  return std::nullopt;
}

Scopes role_scopes_or_fail(std::string_view role, std::string_view where) {
  std::optional<Scopes> scopes = role_scopes(role);
  if (!scopes) {
    fail_input("{}: unknown role '{}' (expected viewer, service, developer or admin)", where, role);
  }
  return *scopes;
}

}  // namespace enclave::store
