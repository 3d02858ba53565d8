#include "serve/server.h"

#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <random>

#include "core/error.h"
#include "monitor/request_log.h"
#include "serve/api_error.h"
#include "serve/auth.h"
#include "serve/client_watch.h"
#include "serve/connection_pool.h"
#include "serve/metrics.h"
#include "serve/model_host.h"
#include "serve/openai_request.h"
#include "serve/openai_response.h"
#include "serve/scheduler.h"
#include "store/clock.h"
#include "store/workspace.h"

namespace enclave::serve {
namespace {

constexpr auto kStreamPoll = std::chrono::milliseconds(100);
constexpr double kKeepAliveSeconds = 1.0;  // SSE comment while nothing happens: finds gone clients

// A loopback name or address: "localhost", "::1" or a dotted 127.x.y.z
// whose parts are all numbers (so "127.0.0.1.evil.example", a name that
// can resolve anywhere, is not one).
bool is_loopback_host(std::string host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host == "localhost" || host == "::1") return true;
  if (host.rfind("127.", 0) != 0) return false;
  int parts = 0;
  std::size_t start = 0;
  while (start <= host.size()) {
    const std::size_t end = std::min(host.find('.', start), host.size());
    const std::string_view part(host.data() + start, end - start);
    if (part.empty() || part.size() > 3 ||
        part.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoi(std::string(part)) > 255) {
      return false;
    }
    ++parts;
    start = end + 1;
  }
  return parts == 4;
}

// The host part of a Host header ("127.0.0.1:8080", "[::1]:80", "localhost").
std::string host_of(const std::string& header) {
  if (!header.empty() && header.front() == '[') return header.substr(0, header.find(']') + 1);
  return header.substr(0, header.find(':'));
}

std::string random_id(std::string_view prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kAlphabet[] =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string id(prefix);
  for (int i = 0; i < 24; ++i) id += kAlphabet[rng() % 62];
  return id;
}

std::uint64_t random_seed() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

void send_error(httplib::Response& res, const ApiError& error) {
  if (error.retry_after) {
    res.set_header("Retry-After",
                   std::to_string(static_cast<long>(std::ceil(std::max(*error.retry_after, 1.0)))));
  }
  send_json(res, error.status, error_json(error));
}

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

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

struct Server::Impl {
  ServeOptions options;
  Metrics metrics;
  std::optional<ApiKeys> keys;
  RateLimiter limiter;
  std::unique_ptr<ModelHost> host;
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<monitor::RequestLog> log;
  RequestLimits limits;
  httplib::Server http;
  int port = 0;

  explicit Impl(ServeOptions o);
  void routes();
  // The key allowed to call this path, or nullptr without keys; throws
  // ApiException 401/403/429.
  const ApiKey* authorize(const httplib::Request& req, Scope scope);
  void generate(const httplib::Request& req, httplib::Response& res, Endpoint endpoint);
  void feedback(const httplib::Request& req, httplib::Response& res);
  void reload(const httplib::Request& req, httplib::Response& res);
  void models(httplib::Response& res);
  void log_request(monitor::RequestRecord record);
};

Server::Impl::Impl(ServeOptions o) : options(std::move(o)) {
  if (options.api_keys.empty() && !is_loopback_host(options.host)) {
    fail_input(
        "--host {}: refusing to listen beyond loopback without --api-keys (anyone on the network "
        "could "
        "use the model)",
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

  if (options.request_log) {
    std::optional<std::filesystem::path> root;
    try {
      root = store::find_workspace({.workspace = options.workspace});
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kNotFound) throw;
      if (!options.quiet) std::fprintf(stderr, "enclave serve: request log off: %s\n", e.what());
    }
    if (root) {
      monitor::RequestLogOptions log_options;
      log_options.retention_days = options.retention_days;
      if (options.redact) {
        log_options.redactor = monitor::pii_redactor();
      }
      log = std::make_unique<monitor::RequestLog>(*root, std::move(log_options));
    }
  }
  routes();
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

void Server::Impl::generate(const httplib::Request& req, httplib::Response& res,
                            Endpoint endpoint) {
  const Clock::time_point arrival = Clock::now();
  const ApiKey* key = authorize(req, Scope::kInfer);
  const CompletionRequest request =
      parse_completion_request(parse_body(req.body), endpoint, limits);
  std::shared_ptr<LoadedModel> model = host->find(request.model);
  if (!model) {
    throw ApiException(not_found(
        fmt::format("model '{}' does not exist (see GET /v1/models)", request.model), "model"));
  }
  const BatchDecoder& decoder = *model->decoder;
  const Tokenizer& tokenizer = decoder.tokenizer();
  std::vector<TokenId> prompt;
  if (endpoint == Endpoint::kChatCompletions) {
    if (!decoder.chat_template()) {
      throw ApiException(
          bad_request("this model has no chat template; use /v1/completions", "messages"));
    }
    prompt = tokenizer.encode(render_chat(*decoder.chat_template(), request.messages, true), false,
                              true);
  } else {
    prompt = tokenizer.encode(request.prompt, /*add_special=*/true);
  }
  const int ctx = decoder.max_len();
  const int n_prompt = static_cast<int>(prompt.size());
  if (n_prompt == 0) throw ApiException(bad_request("the prompt is empty", "prompt"));
  if (n_prompt >= ctx) {
    throw ApiException(bad_request(
        fmt::format("this model's maximum context length is {} tokens; the prompt has {}", ctx,
                    n_prompt),
        endpoint == Endpoint::kChatCompletions ? "messages" : "prompt", "context_length_exceeded"));
  }
  int max_tokens = 0;
  if (request.max_tokens) {
    max_tokens = *request.max_tokens;
    if (n_prompt + max_tokens > ctx) {
      throw ApiException(bad_request(fmt::format("this model's maximum context length is {} "
                                                 "tokens; you requested {} ({} in the prompt, {} "
                                                 "for the completion)",
                                                 ctx, n_prompt + max_tokens, n_prompt, max_tokens),
                                     "max_tokens", "context_length_exceeded"));
    }
  } else {
    const int fallback = endpoint == Endpoint::kCompletions ? 16 : options.default_max_tokens;
    max_tokens = std::min(fallback, ctx - n_prompt);
  }

  SequenceRequest seq_request;
  seq_request.model = model;
  seq_request.prompt = std::move(prompt);
  seq_request.max_tokens = max_tokens;
  seq_request.sampling.temperature = request.temperature;
  seq_request.sampling.top_p = request.top_p;
  seq_request.sampling.seed = request.seed ? *request.seed : random_seed();
  seq_request.stop = request.stop;
  seq_request.logprobs = request.logprobs;
  seq_request.top_logprobs = request.top_logprobs;
  seq_request.arrival = arrival;
  seq_request.deadline =
      arrival + std::chrono::duration_cast<Clock::duration>(
                    std::chrono::duration<double>(options.request_timeout_seconds));
  std::shared_ptr<Sequence> seq = scheduler->submit(std::move(seq_request));

  ResponseHead head;
  head.id = random_id(endpoint == Endpoint::kChatCompletions ? "chatcmpl-" : "cmpl-");
  head.created = static_cast<std::int64_t>(store::now_unix());
  head.model = model->id;
  head.endpoint = endpoint;
  monitor::RequestRecord record;
  record.id = head.id;
  record.created_at = store::now_unix();
  record.key_id = key ? key->id : "";
  record.endpoint = endpoint == Endpoint::kChatCompletions ? "chat.completions" : "completions";
  record.model = request.model.empty() ? model->id : request.model;
  record.model_version = model->version;
  record.model_version_id = model->version_id;
  record.prompt = prompt_record(request);
  record.prompt_tokens = n_prompt;
  res.set_header("X-Request-Id", head.id);

  if (!request.stream) {
    std::string text;
    std::vector<TokenLogprob> logprobs;
    Sequence::Update u;
    const ClientWatch client(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
    do {
      u = seq->wait(kStreamPoll);
      text += u.text;
      for (TokenLogprob& lp : u.logprobs) logprobs.push_back(std::move(lp));
      if (!u.finished && client.gone()) seq->cancel();  // nobody will read the answer
    } while (!u.finished);
    record.completion = text;
    record.completion_tokens = seq->n_generated();
    record.ttft_seconds = seq->time_to_first_token();
    record.latency_seconds = seconds_since(arrival);
    record.finish_reason = std::string(to_string(u.reason));
    if (u.reason == FinishReason::kTimeout) {
      record.status = 504;
      log_request(std::move(record));
      ApiError e = server_error(
          fmt::format("request timed out after {} s", options.request_timeout_seconds));
      e.status = 504;
      e.type = "timeout";
      throw ApiException(e);
    }
    if (u.reason == FinishReason::kCancelled) {
      record.status = 499;  // the client went away (nginx's code); nobody reads this reply
      log_request(std::move(record));
      throw ApiException(server_error("cancelled: the client closed the connection"));
    }
    if (u.reason == FinishReason::kError) {
      record.status = 500;
      log_request(std::move(record));
      throw ApiException(server_error("generation failed: " + u.error));
    }
    send_json(res, 200,
              completion_response(head, text, u.reason, request.logprobs, logprobs, n_prompt,
                                  seq->n_generated()));
    log_request(std::move(record));
    return;
  }

  // Streaming: the provider runs on this connection's thread and only ever
  // waits on this sequence, so a slow client holds nobody else up.
  struct StreamState {
    std::shared_ptr<Sequence> seq;
    ResponseHead head;
    CompletionRequest request;
    monitor::RequestRecord record;
    Clock::time_point arrival;
    Clock::time_point last_write;
    bool first = true;
    bool logged = false;
  };
  auto state = std::make_shared<StreamState>(
      StreamState{seq, head, request, std::move(record), arrival, Clock::now(), true, false});
  auto finish_log = [this, state](FinishReason reason) {
    if (state->logged) return;
    state->logged = true;
    state->record.completion_tokens = state->seq->n_generated();
    state->record.ttft_seconds = state->seq->time_to_first_token();
    state->record.latency_seconds = seconds_since(state->arrival);
    state->record.finish_reason = std::string(to_string(reason));
    // The HTTP status went out as 200 with the first byte; the log keeps
    // what became of the request, so `monitor requests --status` finds
    // failed streams (499: the client went away, as nginx logs it).
    if (reason == FinishReason::kTimeout) state->record.status = 504;
    if (reason == FinishReason::kError) state->record.status = 500;
    if (reason == FinishReason::kCancelled) state->record.status = 499;
    log_request(state->record);
  };
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [state, finish_log](std::size_t, httplib::DataSink& sink) {
        auto write = [&](const std::string& data) {
          if (!sink.write(data.data(), data.size())) {
            state->seq->cancel();  // the client is gone: stop generating for it
            return false;
          }
          state->last_write = Clock::now();
          return true;
        };
        Sequence::Update u = state->seq->wait(kStreamPoll);
        state->record.completion += u.text;
        if (!u.text.empty() || !u.logprobs.empty() || (state->first && !u.finished)) {
          if (!u.text.empty() || !u.logprobs.empty() ||
              state->head.endpoint == Endpoint::kChatCompletions) {
            if (!write(sse_event(stream_chunk(state->head, u.text, state->first,
                                              state->request.logprobs, u.logprobs, nullptr)))) {
              return false;
            }
            state->first = false;
          }
        } else if (!u.finished && seconds_since(state->last_write) > kKeepAliveSeconds) {
          if (!write(": keep-alive\n\n")) return false;
        }
        if (!u.finished) return true;
        finish_log(u.reason);
        if (u.reason == FinishReason::kError || u.reason == FinishReason::kTimeout ||
            u.reason == FinishReason::kCancelled) {
          ApiError e =
              server_error(u.reason == FinishReason::kTimeout ? "request timed out"
                                                              : "generation failed: " + u.error);
          if (!write(sse_event(error_json(e)))) return false;
        } else {
          const std::string reason(openai_finish_reason(u.reason));
          if (!write(sse_event(
                  stream_chunk(state->head, "", state->first, false, {}, reason.c_str()))))
            return false;
          if (state->request.include_usage &&
              !write(sse_event(stream_usage_chunk(state->head, state->record.prompt_tokens,
                                                  state->seq->n_generated())))) {
            return false;
          }
        }
        if (!write(std::string(kSseDone))) return false;
        sink.done();
        return true;
      },
      [state, finish_log](bool) {
        // Connection closed or response complete: never leave a generation
        // running for nobody.
        state->seq->cancel();
        if (!state->logged) {
          Sequence::Update u = state->seq->wait(std::chrono::milliseconds(0));
          state->record.completion += u.text;
          finish_log(FinishReason::kCancelled);
        }
      });
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
  auto guarded = [](auto handler) {
    return [handler](const httplib::Request& req, httplib::Response& res) {
      try {
        handler(req, res);
      } catch (const ApiException& e) {
        send_error(res, e.error());
      } catch (const Error& e) {
        send_error(res, from_error(e));
      } catch (const std::exception& e) {
        send_error(res, server_error(e.what()));
      }
    };
  };
  http.Get("/health", guarded([this](const httplib::Request&, httplib::Response& res) {
             nlohmann::json versions = nlohmann::json::array();
             for (const auto& m : host->all()) versions.push_back(m->version);
             send_json(res, 200, {{"status", "ok"}, {"models", versions}});
           }));
  http.Get("/v1/models", guarded([this](const httplib::Request& req, httplib::Response& res) {
             authorize(req, Scope::kInfer);
             models(res);
           }));
  http.Get("/metrics", guarded([this](const httplib::Request& req, httplib::Response& res) {
             authorize(req, Scope::kInfer);
             res.set_content(metrics.render(), "text/plain; version=0.0.4");
           }));
  http.Post("/v1/completions", guarded([this](const httplib::Request& req, httplib::Response& res) {
              generate(req, res, Endpoint::kCompletions);
            }));
  http.Post("/v1/chat/completions",
            guarded([this](const httplib::Request& req, httplib::Response& res) {
              generate(req, res, Endpoint::kChatCompletions);
            }));
  http.Post("/v1/feedback", guarded([this](const httplib::Request& req, httplib::Response& res) {
              feedback(req, res);
            }));
  http.Post("/admin/reload", guarded([this](const httplib::Request& req, httplib::Response& res) {
              reload(req, res);
            }));
  // Statuses the HTTP layer sets by itself (413, 404, 400) get the same shape.
  http.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        send_error(res, for_status(res.status));
        return httplib::Server::HandlerResponse::Handled;
      }));
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        send_error(res, server_error("internal error"));
      });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    metrics.count_request(endpoint_label(req.path), res.status);
  });
  // The body limit is only checked against Content-Length, so a chunked
  // body, or one read until the connection closes, could grow without
  // bound: both are refused before any of the body is read.
  http.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "POST") return httplib::Server::HandlerResponse::Unhandled;
    if (req.has_header("Transfer-Encoding") || !req.has_header("Content-Length")) {
      ApiError e = bad_request(
          "request bodies must have a Content-Length (chunked bodies are not accepted)");
      e.status = 411;
      send_error(res, e);
      res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http.set_payload_max_length(options.max_body_bytes);
  http.set_read_timeout(30, 0);   // slowloris: a request must arrive within this
  http.set_write_timeout(30, 0);  // a client that stops reading is dropped
  http.set_keep_alive_timeout(5);
  const std::size_t threads = std::min<std::size_t>(
      512, static_cast<std::size_t>(options.max_concurrency + options.max_queue) + 8);
  // Connections beyond the threads wait in a bounded backlog (one per
  // thread); past it the server stops accepting until one is served.
  http.new_task_queue = [threads] { return new ConnectionPool(threads, /*max_pending=*/threads); };
}

Server::Server(ServeOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() {
  stop();
  if (impl_->log) impl_->log->flush();
}

int Server::bind() {
  Impl& s = *impl_;
  if (s.options.port == 0) {
    s.port = s.http.bind_to_any_port(s.options.host);
    if (s.port < 0) fail(ErrorKind::kIo, "cannot listen on {}: no free port", s.options.host);
  } else {
    if (!s.http.bind_to_port(s.options.host, s.options.port)) {
      fail(ErrorKind::kIo, "cannot listen on {}:{} (in use, or not an address of this machine)",
           s.options.host, s.options.port);
    }
    s.port = s.options.port;
  }
  return s.port;
}

void Server::serve() { impl_->http.listen_after_bind(); }
void Server::stop() { impl_->http.stop(); }
int Server::port() const { return impl_->port; }
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
