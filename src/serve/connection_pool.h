// ConnectionPool: the HTTP server's worker threads with a bounded backlog.
// cpp-httplib's own ThreadPool queues accepted connections without limit,
// so a connection flood (or many slowloris clients) grows memory and delay
// without bound. Here at most max_pending connections wait for a worker;
// beyond that the accepting thread serves the connection itself, which
// stops it from accepting more until it is done: further clients wait in
// the kernel's listen backlog, and are refused once that is full, instead
// of piling up inside the server. Each connection is still bounded in time
// by the server's read and write timeouts.
// Thread safety: enqueue from the accepting thread; shutdown once.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace enclave::serve {

class ConnectionPool : public httplib::TaskQueue {
 public:
  ConnectionPool(std::size_t n_threads, std::size_t max_pending);
  ~ConnectionPool() override;
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

  // Connections the accepting thread had to serve itself (pool and backlog full).
  std::size_t n_overflow() const;

 private:
  void work();

  const std::size_t max_pending_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> pending_;
  std::vector<std::thread> threads_;
  std::size_t n_overflow_ = 0;
  bool stopping_ = false;
};

}  // namespace enclave::serve
