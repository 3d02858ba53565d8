// Dashboard: `enclave ui` and `enclave serve --ui`. Serves the pages
// (assets.h) and the JSON API (api.h) under /api/v1 on an HttpTransport of
// src/serve, so the dashboard meets the network with the server's limits
// and refusals (body size, deadlines, per-address connections, JSON-only
// bodies, cross-origin requests refused).
//
// Who may call: every /api/v1 route but openapi.json and session needs a
// caller, either a session cookie (session.h) or `Authorization: Bearer`
// with an API key (keys mode) or the sign-in token (token mode). Keys mode
// (--api-keys): a key's scopes decide; keys over plain HTTP from another
// machine are refused, as the server refuses them. Token mode (no keys):
// the dashboard prints a URL carrying a random sign-in token, valid while it
// runs, listens on loopback only and refuses foreign Host headers (DNS
// rebinding); the caller has the scopes of the OS user's role in the
// workspace (every scope in a workspace without users). Reading needs
// `read`; reviewing feedback and exporting it needs `feedback` (or
// `approve`); deciding on a pipeline stage needs `approve`. A call that
// changes something with a session cookie must carry the session's CSRF
// token (X-CSRF-Token) and an Origin naming this server. Actions are
// audited with the caller as actor ("key:<id>" or the OS user).
// Thread safety: mount before the transport serves; handlers run
// concurrently; pipeline decisions continue the run on a thread of their
// own, joined by the destructor.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "serve/server_status.h"

namespace enclave::serve {
class HttpTransport;
}

namespace enclave::ui {

struct DashboardOptions {
  std::filesystem::path workspace_root;
  std::filesystem::path api_keys;  // empty: token mode
  bool quiet = false;              // nothing on stderr from background work
};

class Dashboard {
 public:
  // Loads the keys file (throws like serve::ApiKeys::load) or makes the
  // sign-in token; opens the workspace once to check it (Error(kNotFound)).
  explicit Dashboard(DashboardOptions options);
  ~Dashboard();
  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;

  // Adds the pages and the API's routes.
  void mount(serve::HttpTransport& http);
  // `serve --ui`: the live serving indicator (serving_live.h) reads this
  // server's status instead of guessing from the request log. Call before
  // the transport serves; `status` must stay callable while it does.
  void watch_server(std::function<serve::ServerStatus()> status);
  // The URL a person opens: base ("http://127.0.0.1:8080") plus, in token
  // mode, "/?token=...".
  std::string sign_in_url(const std::string& base) const;
  // Whether the pages were built into this binary (assets.h).
  static bool has_pages();
  // What to do when they were not.
  static std::string pages_missing_note();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct UiOptions {
  std::string host = "127.0.0.1";
  int port = 8090;  // 0: any free port
  std::filesystem::path api_keys;
  std::string tls_cert;
  std::string tls_key;
  std::filesystem::path workspace_root;
};

// `enclave ui`: checks the host policy (beyond loopback only with keys),
// binds, prints the sign-in URL on stdout and serves until SIGINT/SIGTERM.
// Throws Error(kInvalidInput) for a non-loopback host without keys,
// Error(kIo) when the port cannot be bound.
void run_ui(const UiOptions& options);

}  // namespace enclave::ui
