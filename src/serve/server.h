// Server: `enclave serve`, an OpenAI-compatible HTTP endpoint (as llama.cpp's
// server and vLLM are) over the scheduler, with the operational parts a
// production endpoint needs:
//   POST /v1/chat/completions, /v1/completions (stream: true as SSE ending in
//        "data: [DONE]"), GET /v1/models, POST /v1/feedback,
//   GET /health (the only public path), GET /metrics (Prometheus text),
//   POST /admin/reload (admin scope).
// Security: with --api-keys every path but /health needs a key (Bearer) with
// the right scope, keys in the query string are refused, and each key has a
// rate limit (429 + Retry-After). With --tls-cert and --tls-key the server
// speaks only TLS; over plain HTTP a key from anything but loopback is
// refused (403: it has crossed the network in clear). Without keys the server serves inference
// only (admin routes always need a key), refuses to listen on anything but
// loopback and refuses foreign Host headers (DNS rebinding). Cross-origin
// browser requests are refused (403) and bodies must be application/json
// (415), so a web page cannot drive a local server. /admin/reload takes
// registry references only, never paths. Limits (http_transport.h): body
// size and compressed bodies refused before reading (413, 415), a
// whole-request deadline and per-address connection limit against slow
// clients, prompt against the context and max_tokens (400), a bounded queue
// (503 + Retry-After), a timeout per request. A streaming client that
// disconnects cancels its generation. Errors use the OpenAI error shape.
// Every generation is written to the workspace's request log
// (monitor/request_log.h), PII-redacted by default.
// Thread safety: start/stop from one thread; handlers run on the HTTP pool.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "model/engine.h"         // EngineOptions
#include "serve/scheduler.h"      // kDefaultPrefillChunk
#include "serve/server_status.h"  // ServerStatus

namespace enclave::serve {

class Metrics;
class HttpTransport;
class Server;

struct ServeOptions {
  std::string model_ref;
  std::map<std::string, std::filesystem::path> adapters;  // --adapter NAME=DIR
  // Adapters given as registry references: NAME -> REF ("chat", "chat@2").
  std::map<std::string, std::string> adapter_refs;
  std::string host = "127.0.0.1";
  int port = 8080;                 // 0: any free port (see Server::port)
  std::filesystem::path api_keys;  // empty: no keys, loopback only
  std::string tls_cert;            // PEM files; both empty: plain HTTP, where keys
  std::string tls_key;             // are refused from non-loopback clients (403)
  int max_concurrency = 8;
  int max_queue = 64;
  int ctx = 0;  // tokens per sequence; 0 = the model's context
  // Paged KV cache pool in MiB per loaded model; 0 = ctx x max_concurrency.
  std::int64_t kv_cache_mb = 0;
  int prefill_chunk = kDefaultPrefillChunk;  // prompt tokens per step; 0 = whole prompts
  bool prefix_cache = true;
  std::size_t max_body_bytes = 1 << 20;
  int max_tokens_limit = 4096;   // largest max_tokens a request may ask
  int default_max_tokens = 256;  // chat requests without max_tokens (completions: 16, as OpenAI)
  double request_timeout_seconds = 300;
  double request_deadline_seconds = 30;  // request line, headers and body must arrive in this
  std::size_t max_connections_per_address = 16;  // open at once from one address; more get 429
  std::string workspace;                         // for registry references and the request log
  bool request_log = true;                       // off also when no workspace is found
  bool redact = true;                            // PII redaction of the request log
  double retention_days = 30;
  double watch_seconds = 10;  // poll a registry reference for a new version; 0 = off
  EngineOptions engine;
  bool quiet = false;  // no startup / reload lines on stderr
  // More routes on the server's port, added after its own (the dashboard of
  // `serve --ui`, src/ui); they share the transport's limits and refusals.
  // Paths under /api/ are the dashboard's: their refusals stay out of the
  // request log.
  std::function<void(HttpTransport&)> extra_routes;
  // Called by run_server once it listens and before it serves, with the
  // base URL ("http://127.0.0.1:8080") and the server (which outlives every
  // request it answers: the dashboard of `serve --ui` reads its status).
  std::function<void(const std::string& url, const Server& server)> on_listening;
};

class Server {
 public:
  // Loads the model(s), the keys and the request log; checks the host
  // policy. Throws Error(kInvalidInput) for a non-loopback host without
  // --api-keys or bad limits, and as ModelHost / ApiKeys::load.
  explicit Server(ServeOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the socket; returns the port (useful with port 0). Throws
  // Error(kIo) if the address cannot be bound.
  int bind();
  // Serves until stop() (bind() first). Returns when stopped.
  void serve();
  // Stops accepting, finishes nothing new; safe from another thread or a
  // signal-waiting thread.
  void stop();

  // Waits until every request answered so far is in the request log.
  // Throws Error(kIo) if the log cannot be written.
  void flush_log();
  // Re-reads the --api-keys file now (SIGHUP); a bad file keeps the keys
  // in force. Safe from any thread.
  void reload_keys();

  int port() const;
  Metrics& metrics();
  // The models served now (after any reload), the time it started, the
  // completion requests answered and the sequences running and queued.
  // Safe from any thread.
  ServerStatus status() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// bind + print "listening on http(s)://HOST:PORT" (and a warning for keys
// over plain HTTP beyond loopback) + serve until SIGINT/SIGTERM;
// SIGHUP re-reads the keys file.
void run_server(const ServeOptions& options);

}  // namespace enclave::serve
