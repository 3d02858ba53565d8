#include "serve/http_transport.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <string_view>
#include <utility>

#include "core/error.h"
#include "serve/connection_pool.h"
#include "serve/openai_response.h"

namespace enclave::serve {
namespace {

constexpr time_t kReadTimeoutSeconds = 30;   // slowloris: a request must arrive within this
constexpr time_t kWriteTimeoutSeconds = 30;  // a client that stops reading is dropped
constexpr time_t kKeepAliveTimeoutSeconds = 5;
// The request line and headers of one request may take this much more than
// the body limit (httplib reads header lines without a limit on their number).
constexpr std::size_t kMaxHeaderBytes = 64 << 10;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// "application/json", optionally with parameters ("; charset=utf-8").
bool is_json_media_type(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return iequals(type, "application/json");
}

httplib::Server::Handler guarded(HttpHandler handler) {
  return [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
    try {
      handler(req, res);
    } catch (...) {
      send_error(res, error_for(std::current_exception()));
    }
  };
}

}  // namespace

HttpTransport::HttpTransport(HttpTransportOptions options)
    : options_(std::move(options)),
      http_(ConnectionLimits{.request_deadline = std::chrono::milliseconds(
                                 static_cast<long>(options_.request_deadline_seconds * 1000)),
                             .max_request_bytes = options_.max_body_bytes + kMaxHeaderBytes,
                             .max_per_address = options_.max_connections_per_address}) {
  if (options_.tls_cert.empty() != options_.tls_key.empty())
    fail_input("--tls-cert and --tls-key go together: give both, or neither for plain HTTP");
  if (!options_.tls_cert.empty()) http_.use_tls(options_.tls_cert, options_.tls_key);
  // Statuses the HTTP layer sets by itself (413, 404, 400) get the same shape.
  http_.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        send_error(res, for_status(res.status));
        return httplib::Server::HandlerResponse::Handled;
      }));
  http_.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                 std::exception_ptr e) { send_error(res, error_for(e)); });
  // httplib calls its logger once a response is fully written.
  http_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    response_written();
    if (options_.on_response) options_.on_response(req, res);
  });
  http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    std::optional<ApiError> refusal = refuse_early(req);
    if (!refusal) return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, *refusal);
    // The body (if any) was never read: the connection cannot carry
    // another request after it.
    res.set_header("Connection", "close");
    close_after_response();
    return httplib::Server::HandlerResponse::Handled;
  });
  // httplib sets SO_REUSEPORT, which lets a second server bind a port in
  // use and share its connections; a port in use must fail to bind.
  http_.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  http_.set_payload_max_length(options_.max_body_bytes);
  http_.set_read_timeout(kReadTimeoutSeconds, 0);
  http_.set_write_timeout(kWriteTimeoutSeconds, 0);
  http_.set_keep_alive_timeout(kKeepAliveTimeoutSeconds);
  // Connections beyond the threads wait in a bounded backlog (one per
  // thread); past it the server stops accepting until one is served.
  const std::size_t threads = std::max<std::size_t>(1, options_.n_threads);
  http_.new_task_queue = [threads] { return new ConnectionPool(threads, /*max_pending=*/threads); };
}

void HttpTransport::get(const std::string& path, HttpHandler handler) {
  http_.Get(path, guarded(std::move(handler)));
}

void HttpTransport::post(const std::string& path, HttpHandler handler) {
  body_paths_.insert(path);
  http_.Post(path, guarded(std::move(handler)));
}

std::optional<ApiError> HttpTransport::refuse_early(const httplib::Request& req) const {
  if (std::optional<ApiError> cross = refuse_cross_origin(req)) return cross;
  const bool chunked = req.has_header("Transfer-Encoding");
  const std::string length_text = req.get_header_value("Content-Length");
  std::size_t length = 0;
  if (!length_text.empty()) {
    const char* end = length_text.data() + length_text.size();
    auto [ptr, ec] = std::from_chars(length_text.data(), end, length);
    if (ec != std::errc() || ptr != end) return bad_request("Content-Length is not a number");
  }
  const bool has_body = chunked || length > 0;
  // Request bodies are never inflated: a small gzip or brotli body can grow
  // a thousandfold, past every limit, before anyone has checked the key.
  if (req.has_header("Content-Encoding") &&
      !iequals(req.get_header_value("Content-Encoding"), "identity")) {
    ApiError e = bad_request("compressed request bodies (Content-Encoding) are not accepted");
    e.status = 415;
    return e;
  }
  const bool takes_body = req.method == "POST" && body_paths_.contains(req.path);
  if (!takes_body) {
    if (req.method != "GET" && req.method != "HEAD" && req.method != "POST") {
      ApiError e = bad_request(fmt::format("method {} is not allowed", req.method));
      e.status = 405;
      return e;
    }
    if (has_body)
      return bad_request(fmt::format("{} {} takes no request body", req.method, req.path));
    return std::nullopt;
  }
  // The body limit is only checked against Content-Length, so a chunked
  // body, or one read until the connection closes, could grow without
  // bound: both are refused before any of the body is read.
  if (chunked || length_text.empty()) {
    ApiError e =
        bad_request("request bodies must have a Content-Length (chunked bodies are not accepted)");
    e.status = 411;
    return e;
  }
  if (length > options_.max_body_bytes) {
    return too_large(fmt::format("request body of {} bytes is over the limit of {} bytes", length,
                                 options_.max_body_bytes));
  }
  if (has_body && !is_json_media_type(req.get_header_value("Content-Type"))) {
    ApiError e =
        bad_request("request bodies must be JSON sent as 'Content-Type: application/json'");
    e.status = 415;
    return e;
  }
  return std::nullopt;
}

int HttpTransport::bind() {
  if (options_.port == 0) {
    port_ = http_.bind_to_any_port(options_.host);
    if (port_ < 0) fail(ErrorKind::kIo, "cannot listen on {}: no free port", options_.host);
  } else {
    if (!http_.bind_to_port(options_.host, options_.port)) {
      fail(ErrorKind::kIo, "cannot listen on {}:{} (in use, or not an address of this machine)",
           options_.host, options_.port);
    }
    port_ = options_.port;
  }
  http_.accept_backlog(SOMAXCONN);
  return port_;
}

void HttpTransport::serve() { http_.listen_after_bind(); }
void HttpTransport::stop() { http_.stop(); }

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

std::string hide_paths(std::string_view message) {
  std::string out;
  std::size_t i = 0;
  while (i < message.size()) {
    const bool starts_path =
        message[i] == '/' &&
        (i == 0 || std::string_view(" '\"(=[").find(message[i - 1]) != std::string_view::npos);
    // The server's own routes are URLs, not files.
    const std::string_view rest = message.substr(i);
    const bool route = rest.starts_with("/v1/") || rest.starts_with("/admin/") ||
                       rest.starts_with("/health") || rest.starts_with("/metrics");
    if (!starts_path || route) {
      out += message[i++];
      continue;
    }
    std::size_t end = i;
    while (end < message.size() &&
           std::string_view(" '\"),;]").find(message[end]) == std::string_view::npos)
      ++end;
    std::string_view path = message.substr(i, end - i);
    // A colon or full stop ending the run belongs to the sentence.
    std::string_view tail;
    while (!path.empty() && (path.back() == ':' || path.back() == '.')) {
      tail = message.substr(i + path.size() - 1, tail.size() + 1);
      path.remove_suffix(1);
    }
    const std::size_t slash = path.rfind('/');
    out += path.substr(slash + 1);
    out += tail;
    i = end;
  }
  return out;
}

void send_error(httplib::Response& res, const ApiError& error) {
  if (error.retry_after) {
    res.set_header("Retry-After",
                   std::to_string(static_cast<long>(std::ceil(std::max(*error.retry_after, 1.0)))));
  }
  ApiError shown = error;
  shown.message = hide_paths(error.message);
  send_json(res, error.status, error_json(shown));
}

httplib::ContentProviderWithoutLength guard_stream(StreamStep step,
                                                   std::function<void(const ApiError&)> on_error) {
  return [step = std::move(step), on_error = std::move(on_error)](std::size_t,
                                                                  httplib::DataSink& sink) {
    ApiError error;
    try {
      return step(sink);
    } catch (...) {
      error = error_for(std::current_exception());
    }
    // Nothing below may throw either: this runs on httplib's thread, which
    // has no handler around it.
    try {
      if (on_error) on_error(error);
    } catch (...) {
      // The client still gets the error event; whatever failed while
      // handling the error has nowhere else to go.
    }
    const std::string event = sse_event(error_json(error)) + std::string(kSseDone);
    if (!sink.write(event.data(), event.size())) return false;
    sink.done();
    return true;
  };
}

ClientWatch watch_client(const httplib::Request& req) {
  return ClientWatch(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
}

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

std::optional<ApiError> refuse_cross_origin(const httplib::Request& req) {
  // Browsers send Origin with every cross-origin request (and with same-origin
  // POSTs); other clients send none. Any page open in a browser can reach a
  // server on 127.0.0.1, so a request from another origin is refused, whatever
  // the route: a page must not swap the model or write feedback.
  const std::string fetch_site = req.get_header_value("Sec-Fetch-Site");
  if (iequals(fetch_site, "cross-site") || iequals(fetch_site, "same-site"))
    return forbidden("cross-origin browser requests are refused");
  if (!req.has_header("Origin")) return std::nullopt;
  std::string origin = req.get_header_value("Origin");
  for (std::string_view scheme : {"http://", "https://"}) {
    if (origin.rfind(scheme, 0) == 0) {
      origin.erase(0, scheme.size());
      if (!origin.empty() && origin == req.get_header_value("Host")) return std::nullopt;
    }
  }
  return forbidden("cross-origin browser requests are refused");
}

std::string host_of(const std::string& header) {
  if (!header.empty() && header.front() == '[') return header.substr(0, header.find(']') + 1);
  return header.substr(0, header.find(':'));
}

}  // namespace enclave::serve
