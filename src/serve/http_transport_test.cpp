#include "serve/http_transport.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/error.h"
#include "serve/api_error.h"

namespace enclave::serve {
namespace {

// A transport on a free loopback port, serving on its own thread until the
// test ends.
class RunningTransport {
 public:
  explicit RunningTransport(HttpTransport& transport) : transport_(transport) {
    port_ = transport_.bind();
    thread_ = std::thread([this] { transport_.serve(); });
  }
  ~RunningTransport() {
    transport_.stop();
    thread_.join();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10, 0);
    return c;
  }
  int port() const { return port_; }

 private:
  HttpTransport& transport_;
  int port_ = 0;
  std::thread thread_;
};

HttpTransportOptions loopback() { return {.host = "127.0.0.1", .port = 0, .n_threads = 2}; }

nlohmann::json error_of(const httplib::Result& res) {
  EXPECT_TRUE(res) << "no response";
  if (!res) return {};
  nlohmann::json body = nlohmann::json::parse(res->body);
  EXPECT_TRUE(body.contains("error")) << res->body;
  return body["error"];
}

TEST(ErrorFor, MapsEachKindOfException) {
  auto mapped = [](auto thrown) {
    try {
      throw thrown;
    } catch (...) {
      return error_for(std::current_exception());
    }
  };
  EXPECT_EQ(mapped(ApiException(rate_limited("slow down", 3))).status, 429);
  EXPECT_EQ(mapped(Error(ErrorKind::kInvalidInput, "bad field")).status, 400);
  EXPECT_EQ(mapped(Error(ErrorKind::kNotFound, "no such model")).status, 404);
  const ApiError runtime = mapped(std::runtime_error("disk full"));
  EXPECT_EQ(runtime.status, 500);
  EXPECT_EQ(runtime.message, "disk full");
  EXPECT_EQ(mapped(42).status, 500);
  EXPECT_EQ(error_for(nullptr).status, 500);
}

TEST(HttpTransport, HandlersThatThrowGetTheMappedErrorAndTheServerCarriesOn) {
  HttpTransport transport(loopback());
  transport.post("/invalid", [](const httplib::Request&, httplib::Response&) {
    fail_input("'temperature': 7 is out of range [0, 2]");
  });
  transport.get("/limited", [](const httplib::Request&, httplib::Response&) {
    throw ApiException(rate_limited("rate limit reached", 2.5));
  });
  transport.get("/crash", [](const httplib::Request&, httplib::Response&) {
    throw std::runtime_error("unexpected");
  });
  transport.get("/ok", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"ok", true}});
  });
  RunningTransport running(transport);
  httplib::Client client = running.client();

  httplib::Result res = client.Post("/invalid", "{}", "application/json");
  EXPECT_EQ(error_of(res)["type"], "invalid_request_error");
  EXPECT_EQ(res->status, 400);
  res = client.Get("/limited");
  EXPECT_EQ(error_of(res)["type"], "rate_limit_error");
  EXPECT_EQ(res->status, 429);
  EXPECT_EQ(res->get_header_value("Retry-After"), "3");
  res = client.Get("/crash");
  EXPECT_EQ(error_of(res)["message"], "unexpected");
  EXPECT_EQ(res->status, 500);
  res = client.Get("/nowhere");
  EXPECT_EQ(error_of(res)["type"], "not_found_error");
  res = client.Get("/ok");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

// A loopback connection that has sent `request` and is left open.
int send_raw(int port, const std::string& request) {
  const int sock = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::send(sock, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  return sock;
}

// With one connection allowed per address, a connection whose response is
// decided (it will close) and whose client has gone no longer counts, even
// while its worker has not finished; one whose client is still there does.
TEST(HttpTransport, AClosedConnectionStopsCountingBeforeItsWorkerFinishes) {
  HttpTransportOptions options = loopback();
  options.max_connections_per_address = 1;
  HttpTransport transport(options);
  std::mutex mutex;
  std::condition_variable changed;
  int entered = 0;
  int released = 0;
  transport.get("/held", [&](const httplib::Request&, httplib::Response& res) {
    close_after_response();
    std::unique_lock lock(mutex);
    const int ticket = ++entered;
    changed.notify_all();
    changed.wait(lock, [&] { return released >= ticket; });
    send_json(res, 200, {{"ok", true}});
  });
  transport.get("/ok", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"ok", true}});
  });
  RunningTransport running(transport);
  auto wait_entered = [&](int n) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(10), [&] { return entered >= n; });
  };
  auto release = [&] {
    std::lock_guard lock(mutex);
    ++released;
    changed.notify_all();
  };
  const std::string held = "GET /held HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

  const int open = send_raw(running.port(), held);
  ASSERT_TRUE(wait_entered(1));
  httplib::Result res = running.client().Get("/ok");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429) << "a connection still open counts";
  release();
  ::close(open);

  const int gone = send_raw(running.port(), held);
  ASSERT_TRUE(wait_entered(2));
  ::close(gone);
  res = running.client().Get("/ok");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << "the closed connection's worker is still in its handler";
  release();
}

// Clients that close and reconnect at once, as many as the per-address
// limit, are never refused: a finished connection stops counting even when
// its worker has not yet run again. And more connections than workers wait
// in the kernel's accept queue instead of being dropped (httplib's backlog
// of 5 dropped them, and clients retried a second later).
TEST(HttpTransport, ReconnectingClientsAtTheLimitAreServedWithoutStalls) {
  HttpTransportOptions options = loopback();
  options.max_connections_per_address = 8;
  HttpTransport transport(options);
  transport.get("/ok", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"ok", true}});
  });
  RunningTransport running(transport);
  std::atomic<int> refused{0}, failed{0};
  std::atomic<long> slowest_ms{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        const auto start = std::chrono::steady_clock::now();
        httplib::Result res = running.client().Get("/ok");  // a new connection each time
        const long ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count();
        for (long seen = slowest_ms; ms > seen && !slowest_ms.compare_exchange_weak(seen, ms);) {
        }
        if (!res) {
          ++failed;
        } else if (res->status == 429) {
          ++refused;
        }
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(refused, 0);
  EXPECT_LT(slowest_ms, 900) << "a connection waited for a retransmitted SYN";
}

// A stream whose step throws after its first event: the client gets that
// event, then the mapped error as an event, then [DONE]; the caller hears
// of the error once; the server keeps serving.
TEST(HttpTransport, AnErrorThrownInsideAStreamBecomesAnErrorEvent) {
  HttpTransport transport(loopback());
  std::atomic<int> n_errors{0};
  std::atomic<int> error_status{0};
  transport.get("/stream", [&](const httplib::Request&, httplib::Response& res) {
    auto calls = std::make_shared<int>(0);
    res.set_chunked_content_provider(
        "text/event-stream", guard_stream(
                                 [calls](httplib::DataSink& sink) {
                                   if ((*calls)++ == 0) {
                                     const std::string event = "data: {\"text\":\"first\"}\n\n";
                                     return sink.write(event.data(), event.size());
                                   }
                                   fail(ErrorKind::kIo, "requests.db: disk I/O error");
                                 },
                                 [&](const ApiError& error) {
                                   ++n_errors;
                                   error_status = error.status;
                                 }));
  });
  transport.get("/ok", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"ok", true}});
  });
  RunningTransport running(transport);
  httplib::Client client = running.client();

  httplib::Result res = client.Get("/stream");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  const std::string expected_error =
      "data: " + error_json(server_error("requests.db: disk I/O error")).dump() + "\n\n";
  EXPECT_EQ(res->body, "data: {\"text\":\"first\"}\n\n" + expected_error + "data: [DONE]\n\n");
  EXPECT_EQ(n_errors, 1);
  EXPECT_EQ(error_status, 500);
  res = client.Get("/ok");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST(HidePaths, ClientsSeeFileNamesNotWhereTheyAre) {
  EXPECT_EQ(hide_paths("/srv/ws/.enclave/serve/requests.db: request log writer failed"),
            "requests.db: request log writer failed");
  EXPECT_EQ(hide_paths("model '/home/ops/models/tiny' not found."), "model 'tiny' not found.");
  EXPECT_EQ(hide_paths("a/b and 3/4 stay; (/x/y/z.json) goes"), "a/b and 3/4 stay; (z.json) goes");
  EXPECT_EQ(hide_paths("no paths here"), "no paths here");
  EXPECT_EQ(hide_paths("GET /v1/models takes no request body"),
            "GET /v1/models takes no request body");
}

TEST(LoopbackHost, OnlyLoopbackNamesAndAddresses) {
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.10.20.30"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("[::1]"));
  EXPECT_FALSE(is_loopback_host("127.0.0.1.evil.example"));
  EXPECT_FALSE(is_loopback_host("127.0.0.256"));
  EXPECT_FALSE(is_loopback_host("127.1"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_FALSE(is_loopback_host(""));
  EXPECT_EQ(host_of("127.0.0.1:8080"), "127.0.0.1");
  EXPECT_EQ(host_of("[::1]:80"), "[::1]");
  EXPECT_EQ(host_of("localhost"), "localhost");
}

}  // namespace
}  // namespace enclave::serve
