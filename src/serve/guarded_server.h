// GuardedServer: cpp-httplib's server with its connection loop replaced, so
// that reading a request is bounded the way Debian's cpp-httplib 0.11.4
// cannot bound it by itself. httplib's own timeout applies per read, so a
// client trickling a byte every few seconds held a worker forever, and it
// reads header lines without limit. Here each connection's reads go through
// a stream that enforces, for every request on the connection:
//   - a whole-request deadline: the request line, headers and body must all
//     arrive within `request_deadline` of the first byte being awaited;
//   - a byte budget: at most `max_request_bytes` (headers plus the largest
//     body) may be read for one request;
// and the server accepts at most `max_per_address` connections at a time
// from one remote address (more are answered 429 and closed at once), so
// one client cannot take every worker. A connection the client has closed
// while it was idle or being closed no longer counts, even before its
// worker has run again.
// Everything else (parsing, routing, the handlers, writing) is httplib's
// own process_request(); only the per-connection loop around it and the
// socket reads are ours.
// A handler may call close_after_response() to drop the connection once its
// response is written (for a request whose body was refused unread).
// With use_tls() every connection is TLS (OpenSSL): the handshake must also
// finish within the request deadline, and the same stream bounds apply to
// the decrypted bytes; connection_is_tls() tells a handler which it is on.
// A connection over the per-address limit is closed without an answer when
// TLS is on (a plain 429 would not be understood).
// Thread safety: configure before listening; connections run on the task
// queue's threads; the per-address counts are locked.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <list>
#include <map>
#include <mutex>
#include <string>

typedef struct ssl_ctx_st SSL_CTX;

namespace enclave::serve {

struct ConnectionLimits {
  std::chrono::milliseconds request_deadline{30000};
  std::size_t max_request_bytes = (1 << 20) + (64 << 10);
  std::size_t max_per_address = 16;
};

class GuardedServer : public httplib::Server {
 public:
  explicit GuardedServer(ConnectionLimits limits) : limits_(limits) {}
  ~GuardedServer() override;

  // Serves TLS with the PEM certificate chain and private key in these
  // files. Throws Error(kNotFound) for a missing file, Error(kInvalidInput)
  // naming the file and OpenSSL's reason for one that is not a PEM
  // certificate or key, or a key that does not match the certificate.
  void use_tls(const std::string& cert_file, const std::string& key_file);
  bool tls() const { return tls_ != nullptr; }

  // After binding: up to n connections wait in the kernel for accept()
  // (httplib's own backlog is 5, past which the kernel drops new
  // connections' SYNs and clients retry after a second).
  void accept_backlog(int n);

  // Connections open now from `address` (for tests and metrics).
  std::size_t n_connections(const std::string& address) const;

  // One connection holding a slot of its address. `finishing`: between
  // requests, or its last response decided (refused, closing); such a
  // connection stops counting once its client has closed. `sock` is
  // INVALID_SOCKET once the socket is about to be closed (under the lock).
  struct HeldConnection {
    explicit HeldConnection(socket_t s) : sock(s) {}
    socket_t sock;
    std::atomic<bool> finishing{false};
  };

 private:
  bool process_and_close_socket(socket_t sock) override;
  bool serve_connection(socket_t sock, HeldConnection* held);
  // A slot of address for sock, or nullptr when its connections are at the
  // limit; then *freeing says whether one of them is ending (its client has
  // gone mid-response), so a slot may free within milliseconds.
  HeldConnection* take_slot(const std::string& address, socket_t sock, bool* freeing);
  void forget_socket(HeldConnection* held);
  void release_slot(const std::string& address, HeldConnection* held);

  const ConnectionLimits limits_;
  SSL_CTX* tls_ = nullptr;
  mutable std::mutex mutex_;
  std::map<std::string, std::list<HeldConnection>> per_address_;
};

// Closes the current connection after the response being built (call from a
// handler or the pre-routing handler, on the connection's own thread).
void close_after_response();

// Marks the current connection's response as fully written (httplib's
// logger runs then): from now until its next request it stops counting
// against its address once its client has closed.
void response_written();

// True when the current connection (the calling handler's) is TLS.
bool connection_is_tls();

}  // namespace enclave::serve
