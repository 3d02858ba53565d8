// ClientWatch: tells whether the client of a request still waits for the
// answer, so a non-streaming generation stops when nobody will read it (a
// stream finds out when a write fails). cpp-httplib hands a handler no
// socket, so the connection's socket is found by its two addresses (the
// request's local and remote address and port) among this process's open
// sockets; it stays open, owned by httplib's connection thread, until the
// handler returns. A peer that closed (FIN or RST) reads as gone.
// Linux only (/proc/self/fd). Thread safety: one request's thread.
#pragma once

#include <string>

namespace enclave::serve {

class ClientWatch {
 public:
  // Finds the socket; if none matches (not Linux, addresses unknown), gone()
  // is always false and the generation runs to its end as before.
  ClientWatch(const std::string& local_addr, int local_port, const std::string& remote_addr,
              int remote_port);

  bool found() const { return fd_ >= 0; }
  // True once the peer has closed the connection. Never blocks.
  bool gone() const;

 private:
  int fd_ = -1;
};

}  // namespace enclave::serve
