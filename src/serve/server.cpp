#include "serve/server.h"

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <map>

#include "core/error.h"
#include "serve/api_error.h"
#include "serve/server_impl.h"
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

}  // namespace

Server::Impl::Impl(ServeOptions o) : options(std::move(o)) {
  if (options.api_keys.empty() && !is_loopback_host(options.host)) {
    fail_input(
        "--host {}: refusing to listen beyond loopback without --api-keys (anyone on the network "
        "could use the model)",
        options.host);
  }
  if (options.max_body_bytes < 1024) fail_input("max body size must be at least 1024 bytes");
  if (options.request_timeout_seconds <= 0) fail_input("request timeout must be positive");
  if (options.default_max_tokens < 1 || options.max_tokens_limit < 1)
    fail_input("max_tokens limits must be >= 1");
  if (!options.api_keys.empty()) keys = ApiKeys::load(options.api_keys);
  limits.max_tokens = options.max_tokens_limit;

  ModelHostOptions host_options;
  host_options.model_ref = options.model_ref;
  host_options.adapters = options.adapters;
  host_options.workspace = options.workspace;
  host_options.engine = options.engine;
  host_options.decoder.n_slots = options.max_concurrency;
  host_options.decoder.max_len = options.ctx;
  host_options.watch_seconds = options.watch_seconds;
  host = std::make_unique<ModelHost>(host_options);
  host->on_watch_result([this](bool ok, const std::string& message) {
    metrics.count_reload(ok);
    if (!options.quiet) std::fprintf(stderr, "enclave serve: %s\n", message.c_str());
  });
  scheduler = std::make_unique<Scheduler>(
      SchedulerOptions{.max_concurrency = options.max_concurrency, .max_queue = options.max_queue},
      &metrics);
  if (options.request_log) open_request_log();

  http = std::make_unique<HttpTransport>(HttpTransportOptions{
      .host = options.host,
      .port = options.port,
      .max_body_bytes = options.max_body_bytes,
      .n_threads = std::min<std::size_t>(
          kMaxHttpThreads,
          static_cast<std::size_t>(options.max_concurrency + options.max_queue) + 8),
      .on_response = [this](const std::string& path, int status) {
        metrics.count_request(endpoint_label(path), status);
      }});
  routes();
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

const ApiKey* Server::Impl::authorize(const httplib::Request& req, Scope scope) {
  for (const char* param : {"api_key", "key", "token", "access_token"}) {
    if (req.has_param(param)) {
      throw ApiException(
          unauthorized("API keys in the URL are refused (they end up in logs); send "
                       "'Authorization: Bearer KEY'"));
    }
  }
  if (!keys) {
    if (!is_loopback_host(host_of(req.get_header_value("Host")))) {
      throw ApiException(
          forbidden("Host header is not a loopback name; this server has no API keys and only "
                    "answers local clients"));
    }
    return nullptr;
  }
  std::optional<std::string> token = bearer_token(req.get_header_value("Authorization"));
  const ApiKey* key = token ? keys->authenticate(*token) : nullptr;
  if (key == nullptr) {
    throw ApiException(unauthorized(token ? "invalid API key"
                                          : "missing API key: send 'Authorization: Bearer KEY'"));
  }
  if (!key->allows(scope)) {
    throw ApiException(forbidden(fmt::format("key '{}' lacks the '{}' scope", key->id,
                                             scope == Scope::kAdmin ? "admin" : "infer")));
  }
  if (std::optional<double> wait = limiter.acquire(key->id, key->requests_per_minute)) {
    throw ApiException(
        rate_limited(fmt::format("rate limit of {} requests per minute reached for key '{}'",
                                 key->requests_per_minute, key->id),
                     *wait));
  }
  return key;
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
  const ApiKey* key = authorize(req, Scope::kInfer);
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

void Server::Impl::reload(const httplib::Request& req, httplib::Response& res) {
  authorize(req, Scope::kAdmin);
  std::string ref;
  if (!req.body.empty()) {
    const nlohmann::json body = parse_body(req.body);
    if (auto m = body.find("model"); m != body.end() && !m->is_null()) {
      if (!m->is_string())
        throw ApiException(bad_request("'model': expected a model reference", "model"));
      ref = m->get<std::string>();
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
  http->get("/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
    authorize(req, Scope::kInfer);
    models(res);
  });
  http->get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    authorize(req, Scope::kInfer);
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
  if (impl_->log) impl_->log->flush();
}

int Server::bind() { return impl_->http->bind(); }
void Server::serve() { impl_->http->serve(); }
void Server::stop() { impl_->http->stop(); }
int Server::port() const { return impl_->http->port(); }
Metrics& Server::metrics() { return impl_->metrics; }

void run_server(const ServeOptions& options) {
  // Signals go to a waiting thread, not to whichever thread they hit.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  Server server(options);
  const int port = server.bind();
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (!done) server.stop();
  });
  std::fprintf(stderr, "enclave serve: listening on http://%s:%d\n", options.host.c_str(), port);
  std::fflush(stderr);
  server.serve();
  done = true;
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
}

}  // namespace enclave::serve
