// Signing in to the dashboard. A browser presents an API key (or, for
// `enclave ui` without keys, the sign-in token it printed) once, to
// POST /api/v1/session, and gets a session: an HttpOnly, SameSite=Strict
// cookie naming it, and a CSRF token that every state-changing call must
// send back in X-CSRF-Token. A session carries who it is (the actor the
// audit log records) and the scopes of the key or user it came from
// (store/roles.h); it ends after its lifetime or on sign-out.
// Thread safety: Sessions is internally locked; the free functions are pure.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "store/roles.h"

namespace enclave::ui {

inline constexpr std::string_view kSessionCookie = "enclave_session";
// The session cookie's name for a server on `port`: browsers keep cookies
// per host, not per port, so `enclave ui` and `serve --ui` on one host would
// otherwise sign each other out (Jupyter names its cookies by port too).
std::string session_cookie_name(int port);

struct Session {
  std::string actor;  // "key:<id>" or the OS user
  store::Scopes scopes;
  std::string csrf;
  std::chrono::steady_clock::time_point expires;
};

class Sessions {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Sessions(std::chrono::seconds lifetime = std::chrono::hours(12)) : lifetime_(lifetime) {}

  // A new session; returns its id (the cookie's value, 256 random bits).
  std::string create(std::string actor, store::Scopes scopes, Clock::time_point now = Clock::now());
  // The live session of id; nullopt for an unknown or expired one.
  std::optional<Session> find(std::string_view id, Clock::time_point now = Clock::now());
  void remove(std::string_view id);
  std::size_t size();

 private:
  const std::chrono::seconds lifetime_;
  std::mutex mutex_;
  std::map<std::string, Session, std::less<>> sessions_;
};

// bytes random bytes (getrandom) as lowercase hex.
std::string random_hex(std::size_t bytes);
// Equality whose time does not depend on where the strings differ.
bool constant_time_equal(std::string_view a, std::string_view b);
// The value of cookie `name` in a Cookie header, or "".
std::string cookie_value(std::string_view header, std::string_view name);
// The Set-Cookie value of session cookie `name` (secure adds Secure, for
// TLS); an empty id clears the cookie.
std::string session_cookie(std::string_view name, std::string_view id, bool secure);

}  // namespace enclave::ui
