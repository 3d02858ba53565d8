#include "serve/guarded_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>
#include <utility>

#include "core/error.h"
#include "serve/api_error.h"

namespace enclave::serve {
namespace {

using Clock = std::chrono::steady_clock;

thread_local bool close_requested = false;
thread_local bool on_tls = false;
thread_local GuardedServer::HeldConnection* current_connection = nullptr;

// What a TLS call that returned rc waits for (POLLIN or POLLOUT on a
// non-blocking socket), or 0 when it failed or the peer closed.
short tls_wait_events(SSL* ssl, int rc) {
  const int err = ::SSL_get_error(ssl, rc);
  ::ERR_clear_error();
  if (err == SSL_ERROR_WANT_READ) return POLLIN;
  if (err == SSL_ERROR_WANT_WRITE) return POLLOUT;
  return 0;
}

// OpenSSL's queued errors as one line, the queue emptied.
std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ::ERR_get_error()) {
    char text[256];
    ::ERR_error_string_n(e, text, sizeof text);
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out.empty() ? "unknown reason" : out;
}

bool wait_for(socket_t sock, short events, long timeout_ms) {
  pollfd p{.fd = sock, .events = events, .revents = 0};
  for (;;) {
    const int n = ::poll(&p, 1, static_cast<int>(std::max(0L, timeout_ms)));
    if (n < 0 && errno == EINTR) continue;
    return n > 0;
  }
}

long to_ms(time_t sec, time_t usec) { return static_cast<long>(sec * 1000 + usec / 1000); }

std::string address_of(const sockaddr_storage& addr, int* port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    if (port) *port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    if (port) *port = ntohs(in6->sin6_port);
  }
  return text;
}

// The socket reads of one connection, bounded per request (see the header):
// every read waits at most until the request's deadline, and the bytes one
// request may consume are counted. Reads are buffered, as httplib's own
// stream does, because httplib reads header lines a byte at a time.
class DeadlineStream final : public httplib::Stream {
 public:
  // With ssl, reads and writes go through TLS on the (non-blocking) socket.
  DeadlineStream(socket_t sock, long read_ms, long write_ms, SSL* ssl)
      : sock_(sock), read_ms_(read_ms), write_ms_(write_ms), ssl_(ssl) {}

  void start_request(Clock::time_point deadline, std::size_t budget) {
    deadline_ = deadline;
    budget_ = budget;
  }
  bool has_buffered() const { return pos_ < end_ || (ssl_ && ::SSL_pending(ssl_) > 0); }

  bool is_readable() const override {
    return has_buffered() || wait_for(sock_, POLLIN, read_wait_ms());
  }
  bool is_writable() const override { return wait_for(sock_, POLLOUT, write_ms_); }

  ssize_t read(char* ptr, size_t size) override {
    if (budget_ == 0) return -1;  // the request is larger than any we take
    if (pos_ >= end_) {
      const ssize_t n = ssl_ ? tls_read() : plain_read();
      if (n <= 0) return n;
      pos_ = 0;
      end_ = static_cast<std::size_t>(n);
    }
    const std::size_t n = std::min({size, end_ - pos_, budget_});
    std::memcpy(ptr, buffer_ + pos_, n);
    pos_ += n;
    budget_ -= n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (ssl_) return tls_write(ptr, size);
    if (!is_writable()) return -1;
    ssize_t n;
    do {
      n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getpeername(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      ip = address_of(addr, &port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      ip = address_of(addr, &port);
  }
  socket_t socket() const override { return sock_; }

 private:
  ssize_t plain_read() {
    if (!wait_for(sock_, POLLIN, read_wait_ms())) return -1;  // deadline or idle timeout
    ssize_t n;
    do {
      n = ::recv(sock_, buffer_, sizeof buffer_, 0);
    } while (n < 0 && errno == EINTR);
    return n;
  }

  // A TLS record may arrive in pieces: each wait is cut to the deadline.
  ssize_t tls_read() {
    for (;;) {
      const int n = ::SSL_read(ssl_, buffer_, sizeof buffer_);
      if (n > 0) return n;
      const short events = tls_wait_events(ssl_, n);
      if (events == 0 || !wait_for(sock_, events, read_wait_ms())) return -1;
    }
  }

  ssize_t tls_write(const char* ptr, size_t size) {
    if (size == 0) return 0;
    for (;;) {
      const int n = ::SSL_write(ssl_, ptr, static_cast<int>(std::min<size_t>(size, 1 << 30)));
      if (n > 0) return n;
      const short events = tls_wait_events(ssl_, n);
      if (events == 0 || !wait_for(sock_, events, write_ms_)) return -1;
    }
  }

  // The per-read timeout, cut to what is left of the request's deadline.
  long read_wait_ms() const {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
    return std::max(0L, std::min(read_ms_, static_cast<long>(left)));
  }

  socket_t sock_;
  long read_ms_;
  long write_ms_;
  SSL* ssl_;
  Clock::time_point deadline_ = Clock::now();
  std::size_t budget_ = 0;
  char buffer_[4096];
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
};

void close_socket(socket_t sock) {
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
}

// True when the peer has closed its side (or the connection failed).
bool peer_hung_up(socket_t sock) {
  if (sock == INVALID_SOCKET) return true;
  pollfd p{.fd = sock, .events = POLLRDHUP, .revents = 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

// How long a connection over its address's limit waits for a slot.
constexpr int kSlotRetries = 20;
constexpr std::chrono::milliseconds kSlotRetryInterval{5};

// True when the client has closed and sent nothing more: the next read is
// end of file (nothing buffered to read first).
bool closed_without_more(socket_t sock) {
  char byte;
  return ::recv(sock, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

// Closing with unread input makes the kernel send a reset, which can destroy
// the refusal just written before the client reads it. So the sending side
// is closed first and the client's input discarded for a short, bounded
// while (as web servers' lingering close does). The caller closes the socket.
void drain_lingering(socket_t sock) {
  ::shutdown(sock, SHUT_WR);
  constexpr long kLingerMs = 1000;
  constexpr std::size_t kLingerBytes = 1 << 20;
  const auto until = Clock::now() + std::chrono::milliseconds(kLingerMs);
  char sink[4096];
  for (std::size_t discarded = 0; discarded < kLingerBytes;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0 || !wait_for(sock, POLLIN, static_cast<long>(left))) break;
    const ssize_t n = ::recv(sock, sink, sizeof sink, 0);
    if (n <= 0) break;
    discarded += static_cast<std::size_t>(n);
  }
}

// The TLS handshake of a new connection, bounded by the request deadline;
// null (and nothing to free) when it fails.
SSL* accept_tls(SSL_CTX* ctx, socket_t sock, std::chrono::milliseconds deadline) {
  const int flags = ::fcntl(sock, F_GETFL);
  if (flags < 0 || ::fcntl(sock, F_SETFL, flags | O_NONBLOCK) != 0) return nullptr;
  SSL* ssl = ::SSL_new(ctx);
  if (ssl == nullptr || ::SSL_set_fd(ssl, sock) != 1) {
    ::SSL_free(ssl);
    return nullptr;
  }
  const auto until = Clock::now() + deadline;
  for (;;) {
    const int r = ::SSL_accept(ssl);
    if (r == 1) return ssl;
    const short events = tls_wait_events(ssl, r);
    const long left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (events == 0 || left <= 0 || !wait_for(sock, events, left)) {
      ::SSL_free(ssl);
      return nullptr;
    }
  }
}

}  // namespace

void response_written() {
  if (current_connection != nullptr) current_connection->finishing = true;
}

void close_after_response() {
  close_requested = true;
  response_written();  // nothing more is read: the connection is ending
}

bool connection_is_tls() { return on_tls; }

GuardedServer::~GuardedServer() { ::SSL_CTX_free(tls_); }

void GuardedServer::use_tls(const std::string& cert_file, const std::string& key_file) {
  const std::pair<const char*, std::string> files[] = {{"--tls-cert", cert_file},
                                                       {"--tls-key", key_file}};
  for (const auto& [flag, file] : files) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
      fail(ErrorKind::kNotFound, "{} {}: no such file", flag, file);
  }
  ::ERR_clear_error();
  SSL_CTX* ctx = ::SSL_CTX_new(::TLS_server_method());
  if (ctx == nullptr) fail(ErrorKind::kIo, "TLS: cannot create a context: {}", openssl_errors());
  ::SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  ::SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (::SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    const std::string why = openssl_errors();
    ::SSL_CTX_free(ctx);
    fail_input("--tls-cert {}: not a PEM certificate: {}", cert_file, why);
  }
  if (::SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    const std::string why = openssl_errors();
    ::SSL_CTX_free(ctx);
    fail_input("--tls-key {}: not a PEM private key: {}", key_file, why);
  }
  if (::SSL_CTX_check_private_key(ctx) != 1) {
    const std::string why = openssl_errors();
    ::SSL_CTX_free(ctx);
    fail_input("--tls-key {}: does not match the certificate in {}: {}", key_file, cert_file, why);
  }
  ::SSL_CTX_free(tls_);
  tls_ = ctx;
}

std::size_t GuardedServer::n_connections(const std::string& address) const {
  std::lock_guard lock(mutex_);
  auto it = per_address_.find(address);
  return it == per_address_.end() ? 0 : it->second.size();
}

GuardedServer::HeldConnection* GuardedServer::take_slot(const std::string& address, socket_t sock,
                                                        bool* freeing) {
  std::lock_guard lock(mutex_);
  std::list<HeldConnection>& held = per_address_[address];
  if (held.size() >= limits_.max_per_address) {
    // A connection whose last response is out and whose client has closed
    // is no longer the client's: its worker may simply not have run since.
    // Without this, a client that closes and reconnects at once could be
    // refused for connections it no longer has.
    std::size_t live = 0;
    for (const HeldConnection& h : held) {
      if (!peer_hung_up(h.sock)) {
        ++live;
      } else if (!h.finishing) {
        ++live;
        *freeing = true;  // its client has gone mid-response: it ends soon
      }
    }
    if (live >= limits_.max_per_address) {
      if (held.empty()) per_address_.erase(address);
      return nullptr;
    }
  }
  return &held.emplace_back(sock);
}

void GuardedServer::accept_backlog(int n) {
  // Linux takes a second listen() on a listening socket as a new backlog.
  if (svr_sock_ != INVALID_SOCKET) ::listen(svr_sock_, n);
}

void GuardedServer::forget_socket(HeldConnection* held) {
  // Under the lock, so take_slot never polls a closed (perhaps reused)
  // descriptor.
  std::lock_guard lock(mutex_);
  held->finishing = true;
  held->sock = INVALID_SOCKET;
}

void GuardedServer::release_slot(const std::string& address, HeldConnection* held) {
  std::lock_guard lock(mutex_);
  auto it = per_address_.find(address);
  if (it == per_address_.end()) return;
  it->second.remove_if([held](const HeldConnection& h) { return &h == held; });
  if (it->second.empty()) per_address_.erase(it);
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  sockaddr_storage peer{};
  socklen_t peer_len = sizeof peer;
  std::string address;
  if (::getpeername(sock, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0)
    address = address_of(peer, nullptr);
  bool freeing = false;
  HeldConnection* held = take_slot(address, sock, &freeing);
  // A client that closes a finished stream and reconnects at once can be
  // here before the old connection's worker has run again to mark it done
  // (on a loaded machine, milliseconds). Only then is a slot worth a short
  // wait: connections whose clients are still there are refused at once,
  // so refusing costs a worker no time.
  for (int tries = 0; held == nullptr && freeing && tries < kSlotRetries; ++tries) {
    std::this_thread::sleep_for(kSlotRetryInterval);
    freeing = false;
    held = take_slot(address, sock, &freeing);
  }
  if (held == nullptr) {
    if (tls_ != nullptr) {
      close_socket(sock);
      return false;
    }
    // Refused before anything is read: one short answer, then the socket
    // goes, so the worker is free again at once.
    const std::string body =
        error_json(
            rate_limited("too many connections from this address; close some and retry", 1.0))
            .dump();
    const std::string reply =
        "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: "
        "1\r\nConnection: close\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    if (wait_for(sock, POLLOUT, 1000)) ::send(sock, reply.data(), reply.size(), MSG_NOSIGNAL);
    close_socket(sock);
    return false;
  }
  const bool ok = serve_connection(sock, held);
  forget_socket(held);
  ::close(sock);
  release_slot(address, held);
  return ok;
}

bool GuardedServer::serve_connection(socket_t sock, HeldConnection* held) {
  SSL* ssl = nullptr;
  if (tls_ != nullptr) {
    ssl = accept_tls(tls_, sock, limits_.request_deadline);
    if (ssl == nullptr) {
      ::shutdown(sock, SHUT_RDWR);
      return false;
    }
  }
  on_tls = ssl != nullptr;
  current_connection = held;
  DeadlineStream stream(sock, to_ms(read_timeout_sec_, read_timeout_usec_),
                        to_ms(write_timeout_sec_, write_timeout_usec_), ssl);
  bool ok = false;
  const long keep_alive_ms = static_cast<long>(keep_alive_timeout_sec_) * 1000;
  for (std::size_t left = keep_alive_max_count_; left > 0; --left) {
    // Between requests the connection is idle: one the client has closed
    // no longer counts against its address.
    held->finishing = true;
    // Wait for the next request in short slices, so stop() is seen soon.
    bool ready = stream.has_buffered();
    for (long waited = 0; !ready && waited < keep_alive_ms && svr_sock_ != INVALID_SOCKET;
         waited += 100) {
      ready = wait_for(sock, POLLIN, 100);
    }
    if (!ready || svr_sock_ == INVALID_SOCKET) break;
    // A client that closed after its last response is done: it must not
    // count again (as it would from here to reading the end of file) while
    // it reconnects.
    if (!stream.has_buffered() && closed_without_more(sock)) break;
    held->finishing = false;
    stream.start_request(Clock::now() + limits_.request_deadline, limits_.max_request_bytes);
    close_requested = false;
    bool connection_closed = false;
    ok = process_request(stream, /*close_connection=*/left == 1, connection_closed, nullptr);
    if (!ok || connection_closed || close_requested) break;
  }
  held->finishing = true;
  current_connection = nullptr;
  if (ssl != nullptr) {
    ::SSL_shutdown(ssl);  // one try at close_notify; the socket goes either way
    ::SSL_free(ssl);
    on_tls = false;
  }
  if (close_requested) {
    drain_lingering(sock);
  } else {
    ::shutdown(sock, SHUT_RDWR);
  }
  close_requested = false;
  return ok;
}

}  // namespace enclave::serve
