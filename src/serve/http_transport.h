// HttpTransport: the HTTP layer under `enclave serve`, apart from its routes
// (server.cpp). It owns the cpp-httplib server and how it meets the network:
// binding and listening (a port in use fails: no SO_REUSEPORT), the bounded
// worker pool (connection_pool.h), the whole-request deadline, byte budget
// and per-address connection limit (guarded_server.h), write and keep-alive
// timeouts, and the refusals made before a body is read: compressed bodies
// (415, never inflated), a body on a method or path that takes none (400,
// 405), bodies without a Content-Length (411), over the limit (413) or not
// `application/json` (415), and cross-origin browser requests (403). Every
// failure takes the OpenAI error shape. Routes
// are added through get()/post(), which wrap each handler so that nothing it
// throws escapes; guard_stream() does the same for a streaming response's
// content provider, which httplib calls after the handler has returned.
// Exceptions become ApiErrors in one place: error_for() in api_error.h.
// Thread safety: configure (constructor, get, post) and bind from one thread
// before serve(); stop() from any thread; handlers run on the worker pool.
#pragma once

#include <httplib.h>

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "serve/api_error.h"
#include "serve/client_watch.h"
#include "serve/guarded_server.h"

namespace enclave::serve {

using HttpHandler = std::function<void(const httplib::Request&, httplib::Response&)>;

struct HttpTransportOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port
  std::size_t max_body_bytes = 1 << 20;
  std::size_t n_threads = 8;  // workers; as many connections more may wait for one
  // Seconds in which the request line, headers and body of a request must
  // all arrive (a per-read timeout lets a trickling client stay forever).
  double request_deadline_seconds = 30;
  // Connections one remote address may hold open at once; more get 429.
  std::size_t max_connections_per_address = 16;
  // TLS: PEM certificate chain and private key; both empty: plain HTTP.
  std::string tls_cert;
  std::string tls_key;
  // Called once per response (for metrics and logging refusals), refusals
  // made before routing included.
  std::function<void(const httplib::Request& req, const httplib::Response& res)> on_response;
};

class HttpTransport {
 public:
  // Throws like GuardedServer::use_tls for bad TLS files, Error(kInvalidInput)
  // when only one of them is given.
  explicit HttpTransport(HttpTransportOptions options);
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Adds a route. The handler may throw; the client then gets the mapped
  // error response (error_for) and the server carries on.
  void get(const std::string& path, HttpHandler handler);
  void post(const std::string& path, HttpHandler handler);

  // Binds the socket; returns the port (useful with port 0). Throws
  // Error(kIo) if the address cannot be bound.
  int bind();
  // Serves until stop() (bind() first). Returns when stopped.
  void serve();
  // Stops accepting; safe from another thread.
  void stop();
  int port() const { return port_; }
  bool tls() const { return http_.tls(); }

 private:
  // The refusal of a request before its body is read (see the file comment),
  // or nullopt to route it.
  std::optional<ApiError> refuse_early(const httplib::Request& req) const;

  HttpTransportOptions options_;
  GuardedServer http_;
  std::set<std::string> body_paths_;  // the POST routes: the only ones that take a body
  int port_ = 0;
};

// A JSON response body (invalid UTF-8 in strings replaced, never thrown on).
void send_json(httplib::Response& res, int status, const nlohmann::json& body);
// The message with every absolute path cut to its last part
// ("/srv/ws/.enclave/serve/requests.db: locked" -> "requests.db: locked"):
// clients are told which file, never where the server keeps it.
std::string hide_paths(std::string_view message);
// The OpenAI error body with the error's status (and Retry-After when set),
// its message passed through hide_paths.
void send_error(httplib::Response& res, const ApiError& error);

// One step of a streaming response: writes what is ready to the sink;
// returns false to drop the connection (a write failed), true otherwise
// (it calls sink.done() after the last event).
using StreamStep = std::function<bool(httplib::DataSink& sink)>;
// A content provider for Server-Sent Events that runs step and, if it
// throws, tells on_error the mapped error (so the caller can cancel and log
// the request), sends it as an error event followed by "data: [DONE]" and
// ends the stream. The status line (200) went out with the first byte, so
// the event is the only way left to tell the client.
httplib::ContentProviderWithoutLength guard_stream(StreamStep step,
                                                   std::function<void(const ApiError&)> on_error);

// Whether the client of req is still connected (see client_watch.h).
ClientWatch watch_client(const httplib::Request& req);

// A loopback name or address: "localhost", "::1", "[::1]" or a dotted
// 127.x.y.z whose parts are all numbers (so "127.0.0.1.evil.example", a
// name that can resolve anywhere, is not one).
bool is_loopback_host(std::string host);
// 403 for a request a browser sent from another origin (an Origin header
// that is not this server's own Host, or Sec-Fetch-Site cross-site or
// same-site); nullopt for same-origin requests and non-browser clients.
std::optional<ApiError> refuse_cross_origin(const httplib::Request& req);
// The host part of a Host header ("127.0.0.1:8080", "[::1]:80", "localhost").
std::string host_of(const std::string& header);

}  // namespace enclave::serve
