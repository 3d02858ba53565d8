// ConnectionPool: the HTTP server's worker threads with a bounded backlog.
// cpp-httplib's own ThreadPool queues accepted connections without limit,
// so a connection flood (or many slowloris clients) grows memory and delay
// without bound. Here at most max_pending connections wait for a worker;
// beyond that the accepting thread waits for room, so further clients wait
// in the kernel's listen backlog (and are refused once that is full)
// instead of piling up inside the server. It waits for room rather than
// serving the connection itself: a slow client served on the accepting
// thread would stop every other client from being accepted until its read
// deadline, while the workers sat idle.
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

  // Connections the accepting thread had to wait to hand over (backlog full).
  std::size_t n_waited() const;

 private:
  void work();

  const std::size_t max_pending_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;  // a connection is pending, or stopping
  std::condition_variable room_;   // a pending connection was taken, or stopping
  std::deque<std::function<void()>> pending_;
  std::vector<std::thread> threads_;
  std::size_t n_waited_ = 0;
  bool stopping_ = false;
};

}  // namespace enclave::serve
