#include "ui/dashboard.h"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/error.h"
#include "pipeline/run_state.h"
#include "pipeline/runner.h"
#include "serve/api_error.h"
#include "serve/auth.h"
#include "serve/guarded_server.h"
#include "serve/http_transport.h"
#include "serve/signal_loop.h"
#include "store/audit.h"
#include "store/clock.h"
#include "store/process_info.h"
#include "store/users.h"
#include "store/workspace.h"
#include "ui/api.h"
#include "ui/assets.h"
#include "ui/serving_live.h"
#include "ui/session.h"

namespace enclave::ui {
namespace {

using serve::ApiException;
using store::Scope;

// Who is calling, and how: a session cookie (then writes need the CSRF
// token) or a bearer credential.
struct Caller {
  std::string actor;
  store::Scopes scopes;
  bool by_cookie = false;
  std::string csrf;
};

Query query_of(const httplib::Request& req) {
  Query q;
  for (const auto& [name, value] : req.params) q.emplace(name, value);
  return q;
}

nlohmann::json body_of(const httplib::Request& req) {
  nlohmann::json body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object())
    throw ApiException(serve::bad_request("request body: expected a JSON object"));
  return body;
}

std::int64_t capture_id(const httplib::Request& req) {
  return std::stoll(req.matches[1].str());  // the route's (\d{1,18}) matched it
}

std::string scopes_text(const store::Scopes& scopes) {
  std::string out;
  for (const std::string& name : scopes.names()) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

}  // namespace

struct Dashboard::Impl {
  DashboardOptions options;
  Api api;
  std::unique_ptr<serve::KeyFile> keys;  // null: token mode
  std::string token;                     // token mode's sign-in token
  store::Scopes local_scopes;            // token mode: the OS user's
  std::string local_actor;
  Sessions sessions;
  std::mutex threads_mutex;
  std::vector<std::thread> threads;
  std::function<serve::ServerStatus()> server_status;  // `serve --ui` only

  explicit Impl(DashboardOptions o) : options(std::move(o)), api(options.workspace_root) {
    store::Workspace ws(options.workspace_root);
    if (!options.api_keys.empty()) {
      keys = std::make_unique<serve::KeyFile>(options.api_keys);
      return;
    }
    token = random_hex(24);
    local_actor = store::os_user();
    if (store::list_users(ws.db()).empty()) {
      local_scopes = {Scope::kAdmin};
    } else if (auto role = store::user_role(ws.db(), local_actor)) {
      local_scopes = store::role_scopes_or_fail(*role, "workspace user " + local_actor);
    }
  }

  bool over_clear_network(const httplib::Request& req) const {
    return keys && !serve::connection_is_tls() && !serve::is_loopback_host(req.remote_addr);
  }

  // Token mode answers only requests addressed to a loopback name.
  void check_host(const httplib::Request& req) const {
    if (!keys && !serve::is_loopback_host(serve::host_of(req.get_header_value("Host")))) {
      throw ApiException(serve::forbidden(
          "Host header is not a loopback name; without --api-keys the dashboard only answers "
          "local clients"));
    }
  }

  std::optional<Caller> from_credential(const std::string& credential) {
    if (keys) {
      const serve::ApiKey* key = keys->authenticate(credential);
      if (key == nullptr) return std::nullopt;
      return Caller{.actor = "key:" + key->id, .scopes = key->scopes};
    }
    if (!constant_time_equal(credential, token)) return std::nullopt;
    return Caller{.actor = local_actor, .scopes = local_scopes};
  }

  Caller authenticate(const httplib::Request& req) {
    for (const char* p : {"api_key", "key", "access_token"}) {
      if (req.has_param(p)) {
        throw ApiException(serve::unauthorized(
            "keys in the URL are refused (they end up in logs); sign in or send "
            "'Authorization: Bearer KEY'"));
      }
    }
    check_host(req);
    if (over_clear_network(req)) {
      throw ApiException(serve::forbidden(
          "the dashboard refuses keys and sessions over plain HTTP from another machine: start "
          "it with --tls-cert and --tls-key"));
    }
    if (std::optional<std::string> bearer =
            serve::bearer_token(req.get_header_value("Authorization"))) {
      if (std::optional<Caller> c = from_credential(*bearer)) return *c;
      throw ApiException(serve::unauthorized(keys ? "invalid API key" : "invalid sign-in token"));
    }
    const std::string id =
        cookie_value(req.get_header_value("Cookie"), session_cookie_name(req.local_port));
    if (!id.empty()) {
      if (std::optional<Session> s = sessions.find(id)) {
        return Caller{.actor = s->actor, .scopes = s->scopes, .by_cookie = true, .csrf = s->csrf};
      }
    }
    throw ApiException(serve::unauthorized(keys ? "not signed in: sign in with an API key"
                                                : "not signed in: open the URL with the "
                                                  "sign-in token that `enclave ui` printed"));
  }

  static void require(const Caller& caller, Scope scope,
                      std::optional<Scope> alternative = std::nullopt) {
    if (caller.scopes.allows(scope) || (alternative && caller.scopes.allows(*alternative))) return;
    throw ApiException(serve::forbidden(fmt::format(
        "{} (scopes: {}) lacks the '{}' scope{}", caller.actor, scopes_text(caller.scopes),
        store::scope_name(scope),
        alternative ? fmt::format(" or the '{}' scope", store::scope_name(*alternative)) : "")));
  }

  // A change made with a session cookie: the browser must show it came from
  // this server's own page (Origin) and carry the session's CSRF token.
  static void check_write(const httplib::Request& req, const Caller& caller) {
    if (!caller.by_cookie) return;
    if (!req.has_header("Origin")) {
      throw ApiException(serve::forbidden("a change made with a session needs an Origin header"));
    }
    // refuse_cross_origin (in the transport) already refused any other origin.
    if (!constant_time_equal(req.get_header_value("X-CSRF-Token"), caller.csrf)) {
      throw ApiException(serve::forbidden("missing or wrong X-CSRF-Token for this session"));
    }
  }

  // Reads need read; the handler gets the query.
  serve::HttpHandler reader(std::function<nlohmann::json(const httplib::Request&)> read) {
    return [this, read = std::move(read)](const httplib::Request& req, httplib::Response& res) {
      const Caller caller = authenticate(req);
      require(caller, Scope::kRead);
      res.set_header("Cache-Control", "no-store");
      serve::send_json(res, 200, read(req));
    };
  }

  void session_routes(serve::HttpTransport& http) {
    http.get("/api/v1/session", [this](const httplib::Request& req, httplib::Response& res) {
      res.set_header("Cache-Control", "no-store");
      nlohmann::json out = {{"mode", keys ? "keys" : "token"}, {"signed_in", false}};
      try {
        const Caller c = authenticate(req);
        out.update({{"signed_in", true},
                    {"actor", c.actor},
                    {"scopes", c.scopes.names()},
                    {"csrf", c.by_cookie ? nlohmann::json(c.csrf) : nlohmann::json()}});
      } catch (const ApiException& e) {
        if (e.error().status != 401) throw;
      }
      serve::send_json(res, 200, out);
    });
    http.post("/api/v1/session", [this](const httplib::Request& req, httplib::Response& res) {
      check_host(req);
      const nlohmann::json body = body_of(req);
      const std::string credential = body_string(body, keys ? "key" : "token");
      if (over_clear_network(req)) {
        throw ApiException(serve::forbidden(
            "keys are refused over plain HTTP from another machine: start the dashboard with "
            "--tls-cert and --tls-key"));
      }
      std::optional<Caller> c = from_credential(credential);
      if (!c) {
        throw ApiException(
            serve::unauthorized(keys ? "invalid API key" : "invalid or expired sign-in token"));
      }
      const std::string id = sessions.create(c->actor, c->scopes);
      res.set_header("Set-Cookie", session_cookie(session_cookie_name(req.local_port), id,
                                                  serve::connection_is_tls()));
      res.set_header("Cache-Control", "no-store");
      serve::send_json(res, 200,
                       {{"signed_in", true},
                        {"actor", c->actor},
                        {"scopes", c->scopes.names()},
                        {"csrf", sessions.find(id)->csrf}});
    });
    http.post("/api/v1/session/end", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string name = session_cookie_name(req.local_port);
      const std::string id = cookie_value(req.get_header_value("Cookie"), name);
      if (!id.empty()) sessions.remove(id);
      res.set_header("Set-Cookie", session_cookie(name, "", serve::connection_is_tls()));
      serve::send_json(res, 200, {{"signed_in", false}});
    });
  }

  void read_routes(serve::HttpTransport& http) {
    http.get("/api/v1/home", reader([this](const httplib::Request&) { return api.home(); }));
    http.get("/api/v1/runs",
             reader([this](const httplib::Request& r) { return api.runs(query_of(r)); }));
    http.get(R"(/api/v1/runs/(\d{1,18}))",
             reader([this](const httplib::Request& r) { return api.run(capture_id(r)); }));
    http.get(R"(/api/v1/runs/(\d{1,18})/metrics)", reader([this](const httplib::Request& r) {
               return api.run_metrics(capture_id(r), query_of(r));
             }));
    http.get("/api/v1/compare",
             reader([this](const httplib::Request& r) { return api.compare(query_of(r)); }));
    http.get("/api/v1/models",
             reader([this](const httplib::Request& r) { return api.models(query_of(r)); }));
    http.get(R"(/api/v1/models/([A-Za-z0-9._-]{1,128}))",
             reader([this](const httplib::Request& r) { return api.model(r.matches[1].str()); }));
    http.get("/api/v1/datasets",
             reader([this](const httplib::Request& r) { return api.datasets(query_of(r)); }));
    http.get(R"(/api/v1/datasets/([A-Za-z0-9._-]{1,128}))",
             reader([this](const httplib::Request& r) { return api.dataset(r.matches[1].str()); }));
    http.get(R"(/api/v1/datasets/([A-Za-z0-9._-]{1,128})/samples)",
             reader([this](const httplib::Request& r) {
               return api.dataset_samples(r.matches[1].str(), query_of(r));
             }));
    http.get("/api/v1/lineage",
             reader([this](const httplib::Request& r) { return api.lineage(query_of(r)); }));
    http.get("/api/v1/requests",
             reader([this](const httplib::Request& r) { return api.requests(query_of(r)); }));
    http.get("/api/v1/serving",
             reader([this](const httplib::Request& r) { return api.serving(query_of(r)); }));
    http.get("/api/v1/serving/live", reader([this](const httplib::Request&) {
               if (!server_status)
                 return serving_live(options.workspace_root, nullptr, store::now_unix());
               const serve::ServerStatus status = server_status();
               return serving_live(options.workspace_root, &status, store::now_unix());
             }));
    http.get("/api/v1/feedback",
             reader([this](const httplib::Request& r) { return api.feedback(query_of(r)); }));
    http.get("/api/v1/pipelines",
             reader([this](const httplib::Request& r) { return api.pipelines(query_of(r)); }));
    http.get(R"(/api/v1/pipelines/(\d{1,18}))",
             reader([this](const httplib::Request& r) { return api.pipeline_run(capture_id(r)); }));
    http.get("/api/v1/audit",
             reader([this](const httplib::Request& r) { return api.audit(query_of(r)); }));
  }

  // A change: the caller needs `scope` (or `alternative`), a session's
  // CSRF token and Origin; the audit log records it as the actor.
  using Action = std::function<nlohmann::json(const nlohmann::json& body, const Caller& caller)>;
  serve::HttpHandler writer(Scope scope, std::optional<Scope> alternative, int status, Action act) {
    return [this, scope, alternative, status, act = std::move(act)](const httplib::Request& req,
                                                                    httplib::Response& res) {
      const Caller caller = authenticate(req);
      require(caller, scope, alternative);
      check_write(req, caller);
      store::AuditActorScope actor(caller.actor);
      serve::send_json(res, status, act(body_of(req), caller));
    };
  }

  void action_routes(serve::HttpTransport& http) {
    http.post("/api/v1/feedback/review",
              writer(Scope::kFeedback, Scope::kApprove, 200,
                     [this](const nlohmann::json& body, const Caller& caller) {
                       return api.review_feedback(body, caller.actor);
                     }));
    http.post("/api/v1/feedback/export", writer(Scope::kFeedback, Scope::kApprove, 200,
                                                [this](const nlohmann::json& body, const Caller&) {
                                                  return api.export_feedback(body);
                                                }));
    http.post("/api/v1/pipelines/decide",
              writer(Scope::kApprove, std::nullopt, 202,
                     [this](const nlohmann::json& body, const Caller& caller) {
                       return decide(body, caller);
                     }));
  }

  // Checks that the stage waits, then records the decision and continues
  // the run on a thread of its own (the stages after it may run for hours).
  nlohmann::json decide(const nlohmann::json& body, const Caller& caller) {
    if (!body.contains("run") || !body["run"].is_number_integer())
      fail_input("run: expected a pipeline run id (a whole number)");
    const std::int64_t run = body["run"].get<std::int64_t>();
    const std::string stage = body_string(body, "stage");
    const std::string decision = body_string(body, "decision");
    if (decision != "approve" && decision != "reject")
      fail_input("decision: '{}' is not one of approve, reject", decision);
    std::string reason = body_string(body, "reason", /*optional=*/true);
    if (reason.empty()) reason = fmt::format("{}d in the dashboard by {}", decision, caller.actor);
    {
      store::Workspace ws(options.workspace_root);
      const pipeline::RunRecord record = pipeline::load_run(ws.db(), run);
      auto it = std::find_if(record.stages.begin(), record.stages.end(),
                             [&stage](const pipeline::StageRecord& s) { return s.stage == stage; });
      if (it == record.stages.end())
        fail(ErrorKind::kNotFound, "pipeline run {} has no stage '{}'", run, stage);
      if (it->status != "waiting_approval")
        fail_input("stage '{}' of pipeline run {} is {}, not waiting for approval", stage, run,
                   it->status);
    }
    pipeline::ApproveOptions approve{.workspace_root = options.workspace_root,
                                     .run = run,
                                     .stage = stage,
                                     .reject = decision == "reject",
                                     .reason = reason};
    std::lock_guard lock(threads_mutex);
    threads.emplace_back([this, approve, actor = caller.actor] {
      try {
        store::AuditActorScope scope(actor);
        pipeline::approve_stage(approve);
      } catch (const std::exception& e) {
        if (!options.quiet)
          std::fprintf(stderr, "enclave ui: pipeline run %lld: %s\n",
                       static_cast<long long>(approve.run), e.what());
      }
    });
    return {{"run", run}, {"stage", stage}, {"decision", decision}, {"accepted", true}};
  }

  void page_routes(serve::HttpTransport& http) {
    http.get("/api/v1/openapi.json", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(openapi_json()), "application/json");
    });
    for (const Asset& asset : built_assets()) {
      auto send = [&asset](const httplib::Request&, httplib::Response& res) {
        res.set_header("X-Content-Type-Options", "nosniff");
        res.set_header("Content-Security-Policy",
                       "default-src 'self'; img-src 'self' data:; style-src 'self' "
                       "'unsafe-inline'; frame-ancestors 'none'");
        res.set_content(std::string(asset.body), std::string(asset.content_type));
      };
      http.get(std::string(asset.path), send);
      if (asset.path == "/index.html") http.get("/", send);
    }
    if (built_assets().empty()) {
      http.get("/", [](const httplib::Request&, httplib::Response& res) {
        res.status = 503;
        res.set_content(
            pages_missing_note() + "\nThe JSON API is at /api/v1 (see /api/v1/openapi.json).\n",
            "text/plain; charset=utf-8");
      });
    }
  }
};

Dashboard::Dashboard(DashboardOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

Dashboard::~Dashboard() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(impl_->threads_mutex);
    threads.swap(impl_->threads);
  }
  for (std::thread& t : threads) t.join();
}

void Dashboard::mount(serve::HttpTransport& http) {
  impl_->page_routes(http);
  impl_->session_routes(http);
  impl_->read_routes(http);
  impl_->action_routes(http);
}

void Dashboard::watch_server(std::function<serve::ServerStatus()> status) {
  impl_->server_status = std::move(status);
}

std::string Dashboard::sign_in_url(const std::string& base) const {
  return impl_->keys ? base + "/" : base + "/?token=" + impl_->token;
}

bool Dashboard::has_pages() { return !built_assets().empty(); }

std::string Dashboard::pages_missing_note() {
  return "The dashboard's pages were not built into this binary (web/node_modules was missing "
         "when it was built): run `bash scripts/install-deps.sh` (npm ci in web/), then build "
         "again (`make build`).";
}

void run_ui(const UiOptions& options) {
  if (options.api_keys.empty() && !serve::is_loopback_host(options.host)) {
    fail_input(
        "--host {}: without --api-keys the dashboard listens on loopback only (its sign-in token "
        "would cross the network); give --api-keys to listen beyond it",
        options.host);
  }
  Dashboard dashboard({.workspace_root = options.workspace_root, .api_keys = options.api_keys});
  serve::HttpTransport http({.host = options.host,
                             .port = options.port,
                             .max_body_bytes = 64 << 10,
                             .n_threads = 16,
                             .tls_cert = options.tls_cert,
                             .tls_key = options.tls_key});
  dashboard.mount(http);
  const int port = http.bind();
  const std::string host =
      options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
  const std::string base =
      fmt::format("{}://{}:{}", options.tls_cert.empty() ? "http" : "https", host, port);
  if (!Dashboard::has_pages())
    std::fprintf(stderr, "enclave ui: %s\n", Dashboard::pages_missing_note().c_str());
  std::fprintf(stderr, "enclave ui: dashboard of %s\n", options.workspace_root.string().c_str());
  std::printf("%s\n", dashboard.sign_in_url(base).c_str());
  std::fflush(stdout);
  std::fflush(stderr);
  serve::serve_until_signal([&http] { http.serve(); }, [&http] { http.stop(); });
}

}  // namespace enclave::ui
