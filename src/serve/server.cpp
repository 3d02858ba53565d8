#include "serve/server.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>

#include "core/error.h"
#include "serve/api_error.h"
#include "serve/server_impl.h"
#include "serve/signal_loop.h"
#include "store/audit.h"
#include "store/clock.h"
#include "store/workspace.h"

namespace enclave::serve {
namespace {

constexpr std::size_t kMaxHttpThreads = 512;

std::string endpoint_label(const std::string& path) {
  static const std::map<std::string, std::string> kLabels = {
      {"/v1/chat/completions", "chat.completions"},
      {"/v1/completions", "completions"},
      {"/v1/models", "models"},
      {"/v1/feedback", "feedback"},
      {"/health", "health"},
      {"/metrics", "metrics"},
      {"/admin/reload", "reload"}};
  auto it = kLabels.find(path);
  return it == kLabels.end() ? "other" : it->second;
}

// "name", "name@3", "name@alias", "name:alias": registry names are made of
// letters, digits and . _ - (store/names.h), so anything with a slash, a
// backslash or a leading dot or tilde is a path.
bool is_registry_reference(const std::string& ref) {
  return !ref.empty() && ref.find_first_of("/\\") == std::string::npos && ref.front() != '.' &&
         ref.front() != '~';
}

}  // namespace

Server::Impl::Impl(ServeOptions o) : options(std::move(o)), started_at(store::now_unix()) {
  if (options.api_keys.empty() && !is_loopback_host(options.host)) {
    fail_input(
        "--host {}: refusing to listen beyond loopback without --api-keys (anyone on the network "
        "could use the model)",
        options.host);
  }
  if (options.max_body_bytes < 1024) fail_input("max body size must be at least 1024 bytes");
  if (options.request_timeout_seconds <= 0) fail_input("request timeout must be positive");
  if (options.request_deadline_seconds <= 0) fail_input("request read deadline must be positive");
  if (options.max_connections_per_address < 1)
    fail_input("connections per address must be at least 1");
  if (options.default_max_tokens < 1 || options.max_tokens_limit < 1)
    fail_input("max_tokens limits must be >= 1");
  if (!options.api_keys.empty()) keys = std::make_unique<KeyFile>(options.api_keys);
  limits.max_tokens = options.max_tokens_limit;
  // Before the model loads, so bad TLS files fail at once.
  http = std::make_unique<HttpTransport>(HttpTransportOptions{
      .host = options.host,
      .port = options.port,
      .max_body_bytes = options.max_body_bytes,
      // One address may hold max_connections_per_address workers; the rest
      // are enough for every running and queued request and a few more.
      .n_threads = std::min<std::size_t>(
          kMaxHttpThreads, static_cast<std::size_t>(options.max_concurrency + options.max_queue) +
                               8 + options.max_connections_per_address),
      .request_deadline_seconds = options.request_deadline_seconds,
      .max_connections_per_address = options.max_connections_per_address,
      .tls_cert = options.tls_cert,
      .tls_key = options.tls_key,
      .on_response = [this](const httplib::Request& req, const httplib::Response& res) {
        metrics.count_request(endpoint_label(req.path), res.status);
        if (res.status >= 400 && res.status < 500 && !req.path.starts_with("/api/"))
          log_refusal(req, res.status);
      }});

  ModelHostOptions host_options;
  host_options.model_ref = options.model_ref;
  host_options.adapters = options.adapters;
  host_options.adapter_refs = options.adapter_refs;
  host_options.workspace = options.workspace;
  host_options.engine = options.engine;
  host_options.decoder.n_slots = options.max_concurrency;
  host_options.decoder.max_len = options.ctx;
  host_options.decoder.kv_cache_bytes = options.kv_cache_mb << 20;
  host_options.decoder.prefix_cache = options.prefix_cache;
  host_options.watch_seconds = options.watch_seconds;
  host = std::make_unique<ModelHost>(host_options);
  if (!options.quiet) {
    const BatchDecoder& decoder = *host->find("")->decoder;
    const BatchDecoder::CacheStats cache = decoder.cache_stats();
    std::fprintf(
        stderr,
        "enclave serve: KV cache %.1f MiB per model: %lld blocks of %d tokens (%lld tokens, "
        "--kv-cache-mb) + %.1f MiB for sliding-window layers; --ctx %d, prefix cache %s\n",
        static_cast<double>(cache.n_blocks * cache.block_bytes) / (1 << 20),
        static_cast<long long>(cache.n_blocks), kKvBlockSize,
        static_cast<long long>(cache.n_blocks * kKvBlockSize),
        static_cast<double>(cache.window_bytes) / (1 << 20), decoder.max_len(),
        options.prefix_cache ? "on" : "off");
  }
  host->on_watch_result([this](bool ok, const std::string& message) {
    metrics.count_reload(ok);
    if (ok) audit("reload", "serve " + options.model_ref, {{"by", "watch"}, {"message", message}});
    if (!options.quiet) std::fprintf(stderr, "enclave serve: %s\n", message.c_str());
  });
  scheduler =
      std::make_unique<Scheduler>(SchedulerOptions{.max_concurrency = options.max_concurrency,
                                                   .max_queue = options.max_queue,
                                                   .prefill_chunk = options.prefill_chunk},
                                  &metrics);
  if (options.request_log) open_request_log();

  routes();
  if (options.extra_routes) options.extra_routes(*http);
}

void Server::Impl::open_request_log() {
  std::optional<std::filesystem::path> root;
  try {
    root = store::find_workspace({.workspace = options.workspace});
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kNotFound) throw;
    if (!options.quiet) std::fprintf(stderr, "enclave serve: request log off: %s\n", e.what());
  }
  if (!root) return;
  monitor::RequestLogOptions log_options;
  log_options.retention_days = options.retention_days;
  if (options.redact) log_options.redactor = monitor::pii_redactor();
  log = std::make_unique<monitor::RequestLog>(*root, std::move(log_options));
}

const ApiKey* Server::Impl::authorize(const httplib::Request& req, Scope scope,
                                      std::optional<Scope> alternative) {
  for (const char* param : {"api_key", "key", "token", "access_token"}) {
    if (req.has_param(param)) {
      throw ApiException(
          unauthorized("API keys in the URL are refused (they end up in logs); send "
                       "'Authorization: Bearer KEY'"));
    }
  }
  if (!keys) {
    if (scope == Scope::kAdmin) {
      throw ApiException(forbidden(
          "admin routes need a key with the admin scope; start the server with --api-keys"));
    }
    if (!is_loopback_host(host_of(req.get_header_value("Host")))) {
      throw ApiException(
          forbidden("Host header is not a loopback name; this server has no API keys and only "
                    "answers local clients"));
    }
    return nullptr;
  }
  std::optional<std::string> token = bearer_token(req.get_header_value("Authorization"));
  if (token && !connection_is_tls() && !is_loopback_host(req.remote_addr)) {
    throw ApiException(
        forbidden("API keys are refused over plain HTTP from another machine (the key crosses "
                  "the network in clear): use TLS, https:// to a server started with --tls-cert "
                  "and --tls-key"));
  }
  const ApiKey* key = token ? keys->authenticate(*token) : nullptr;
  if (key == nullptr) {
    throw ApiException(unauthorized(token ? "invalid API key"
                                          : "missing API key: send 'Authorization: Bearer KEY'"));
  }
  if (!key->allows(scope) && !(alternative && key->allows(*alternative))) {
    throw ApiException(forbidden(
        alternative ? fmt::format("key '{}' lacks the '{}' or '{}' scope", key->id,
                                  store::scope_name(scope), store::scope_name(*alternative))
                    : fmt::format("key '{}'{} lacks the '{}' scope", key->id,
                                  key->role.empty() ? "" : " (role " + key->role + ")",
                                  store::scope_name(scope))));
  }
  if (std::optional<double> wait = limiter.acquire(key->id, key->requests_per_minute)) {
    throw ApiException(
        rate_limited(fmt::format("rate limit of {} requests per minute reached for key '{}'",
                                 key->requests_per_minute, key->id),
                     *wait));
  }
  return key;
}

void Server::Impl::log_refusal(const httplib::Request& req, int status) {
  if (!log) return;
  monitor::RequestRecord r;
  std::random_device random;
  r.id = fmt::format("refused-{:08x}{:08x}", random(), random());
  r.created_at =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // The key id, when the key is a valid one (403 and 429 are refused keys;
  // a 401 has no key id to give). The body is not stored: it was refused.
  if (keys) {
    if (std::optional<std::string> token = bearer_token(req.get_header_value("Authorization"))) {
      if (const ApiKey* key = keys->authenticate(*token)) r.key_id = key->id;
    }
  }
  r.endpoint = endpoint_label(req.path);
  r.finish_reason = "refused";
  r.status = status;
  try {
    log->record(std::move(r));
  } catch (const std::exception& e) {
    if (!options.quiet) std::fprintf(stderr, "enclave serve: refusal not logged: %s\n", e.what());
  }
}

void Server::Impl::log_request(monitor::RequestRecord record) {
  metrics.add_tokens(record.prompt_tokens, record.completion_tokens);
  metrics.observe_request_duration(record.latency_seconds);
  if (log) log->record(std::move(record));
}

void Server::Impl::models(httplib::Response& res) {
  nlohmann::json data = nlohmann::json::array();
  for (const auto& m : host->all()) {
    data.push_back({{"id", m->id},
                    {"object", "model"},
                    {"created", 0},
                    {"owned_by", "enclave"},
                    {"root", m->version},
                    {"max_model_len", m->decoder->max_len()}});
  }
  send_json(res, 200, {{"object", "list"}, {"data", data}});
}

void Server::Impl::feedback(const httplib::Request& req, httplib::Response& res) {
  const ApiKey* key = authorize(req, Scope::kFeedback);
  const nlohmann::json body = parse_body(req.body);
  if (!log)
    throw ApiException(
        server_error("the request log is off (no workspace), so feedback cannot be stored"));
  monitor::FeedbackRecord f;
  auto id = body.find("id");
  if (id == body.end() || !id->is_string() || id->get<std::string>().empty()) {
    throw ApiException(
        bad_request("'id': expected the id of a completion (\"chatcmpl-...\")", "id"));
  }
  f.request_id = id->get<std::string>();
  f.key_id = key ? key->id : "";
  if (auto rating = body.find("rating"); rating != body.end() && !rating->is_null()) {
    if (!rating->is_number())
      throw ApiException(bad_request("'rating': expected a number in [-1, 1]", "rating"));
    const double r = rating->get<double>();
    if (!(r >= -1.0 && r <= 1.0)) {
      throw ApiException(
          bad_request(fmt::format("'rating': {} is out of range [-1, 1]", r), "rating"));
    }
    f.rating = r;
  }
  if (auto correction = body.find("correction");
      correction != body.end() && !correction->is_null()) {
    if (!correction->is_string())
      throw ApiException(bad_request("'correction': expected a string", "correction"));
    f.correction = correction->get<std::string>();
  }
  if (!f.rating && !f.correction) {
    throw ApiException(bad_request("feedback needs 'rating' (-1 to 1), 'correction', or both"));
  }
  try {
    log->add_feedback(f);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kNotFound) throw ApiException(not_found(e.what(), "id"));
    throw;
  }
  send_json(res, 200, {{"object", "feedback"}, {"id", f.request_id}, {"stored", true}});
}

void Server::Impl::audit(std::string_view action, const std::string& object,
                         const nlohmann::json& details) {
  try {
    std::unique_ptr<store::Workspace> ws = store::Workspace::open({.workspace = options.workspace});
    store::WriteTransaction tx(ws->db());
    store::append_audit(ws->db(), action, object, details);
    tx.commit();
  } catch (const std::exception& e) {
    // The change has happened; a server without a workspace has no log to write.
    if (!options.quiet) std::fprintf(stderr, "enclave serve: not audited: %s\n", e.what());
  }
}

void Server::Impl::reload(const httplib::Request& req, httplib::Response& res) {
  const ApiKey* key = authorize(req, Scope::kAdmin);
  std::string ref;
  if (!req.body.empty()) {
    const nlohmann::json body = parse_body(req.body);
    if (auto m = body.find("model"); m != body.end() && !m->is_null()) {
      if (!m->is_string())
        throw ApiException(bad_request("'model': expected a model reference", "model"));
      ref = m->get<std::string>();
      if (!is_registry_reference(ref)) {
        throw ApiException(bad_request(
            "'model': expected a registry reference (name, name@3, name:alias), not a path",
            "model"));
      }
    }
  }
  ReloadResult r;
  try {
    r = host->reload(ref);
  } catch (...) {
    metrics.count_reload(false);
    throw;
  }
  metrics.count_reload(true);
  store::AuditActorScope actor(key ? "key:" + key->id : "");
  audit("reload", "serve " + r.current,
        {{"previous", r.previous}, {"current", r.current}, {"key", key ? key->id : ""}});
  if (!options.quiet)
    std::fprintf(stderr, "enclave serve: reloaded %s -> %s\n", r.previous.c_str(),
                 r.current.c_str());
  send_json(res, 200, {{"previous", r.previous}, {"current", r.current}, {"changed", r.changed}});
}

void Server::Impl::routes() {
  http->get("/health", [this](const httplib::Request&, httplib::Response& res) {
    nlohmann::json versions = nlohmann::json::array();
    for (const auto& m : host->all()) versions.push_back(m->version);
    send_json(res, 200, {{"status", "ok"}, {"models", versions}});
  });
  // Listing models and reading metrics is looking (read), and also what a
  // client that generates does (infer).
  http->get("/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
    authorize(req, Scope::kRead, Scope::kInfer);
    models(res);
  });
  http->get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    authorize(req, Scope::kRead, Scope::kInfer);
    res.set_content(metrics.render(), "text/plain; version=0.0.4");
  });
  http->post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    generate(req, res, Endpoint::kCompletions);
  });
  http->post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    generate(req, res, Endpoint::kChatCompletions);
  });
  http->post("/v1/feedback",
             [this](const httplib::Request& req, httplib::Response& res) { feedback(req, res); });
  http->post("/admin/reload",
             [this](const httplib::Request& req, httplib::Response& res) { reload(req, res); });
}

Server::Server(ServeOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() {
  stop();
  try {
    flush_log();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "enclave serve: %s\n", e.what());  // a destructor must not throw
  }
}

void Server::flush_log() {
  if (impl_->log) impl_->log->flush();
}

void Server::reload_keys() {
  if (!impl_->keys) return;
  std::string error;
  const bool ok = impl_->keys->reload(&error);
  if (!impl_->options.quiet) {
    if (ok) {
      std::fprintf(stderr, "enclave serve: keys file re-read\n");
    } else {
      std::fprintf(stderr, "enclave serve: keys file kept: %s\n", error.c_str());
    }
  }
}

int Server::bind() { return impl_->http->bind(); }
void Server::serve() { impl_->http->serve(); }
void Server::stop() { impl_->http->stop(); }
int Server::port() const { return impl_->http->port(); }
Metrics& Server::metrics() { return impl_->metrics; }

ServerStatus Server::status() const {
  ServerStatus out;
  for (const auto& m : impl_->host->all()) out.models.push_back({m->id, m->version});
  out.started_at = impl_->started_at;
  out.generations =
      impl_->metrics.requests_to("chat.completions") + impl_->metrics.requests_to("completions");
  out.running = impl_->metrics.active_sequences();
  out.queued = impl_->metrics.queue_depth();
  return out;
}

void run_server(const ServeOptions& options) {
  Server server(options);
  const int port = server.bind();
  const bool tls = !options.tls_cert.empty();
  if (!tls && !options.api_keys.empty() && !is_loopback_host(options.host)) {
    std::fprintf(stderr,
                 "enclave serve: warning: listening on %s without TLS: API keys from other "
                 "machines are refused (403) until the server has --tls-cert and --tls-key\n",
                 options.host.c_str());
  }
  std::fprintf(stderr, "enclave serve: listening on %s://%s:%d\n", tls ? "https" : "http",
               options.host.c_str(), port);
  if (options.on_listening) {
    options.on_listening(
        fmt::format(
            "{}://{}:{}", tls ? "https" : "http",
            options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host,
            port),
        server);
  }
  std::fflush(stderr);
  // SIGHUP re-reads the keys file; SIGINT and SIGTERM stop the server.
  serve_until_signal([&server] { server.serve(); }, [&server] { server.stop(); },
                     [&server] { server.reload_keys(); });
  // Every request answered is in the log before the process exits.
  server.flush_log();
}

}  // namespace enclave::serve
