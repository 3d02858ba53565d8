#include "serve/http_transport.h"

#include <algorithm>
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

HttpTransport::HttpTransport(HttpTransportOptions options) : options_(std::move(options)) {
  // Statuses the HTTP layer sets by itself (413, 404, 400) get the same shape.
  http_.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        send_error(res, for_status(res.status));
        return httplib::Server::HandlerResponse::Handled;
      }));
  http_.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                 std::exception_ptr e) { send_error(res, error_for(e)); });
  if (options_.on_response) {
    http_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      options_.on_response(req.path, res.status);
    });
  }
  // The body limit is only checked against Content-Length, so a chunked
  // body, or one read until the connection closes, could grow without
  // bound: both are refused before any of the body is read.
  http_.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
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
  http_.Post(path, guarded(std::move(handler)));
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
  return port_;
}

void HttpTransport::serve() { http_.listen_after_bind(); }
void HttpTransport::stop() { http_.stop(); }

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

std::string host_of(const std::string& header) {
  if (!header.empty() && header.front() == '[') return header.substr(0, header.find(']') + 1);
  return header.substr(0, header.find(':'));
}

}  // namespace enclave::serve
