#include "serve/connection_pool.h"

namespace enclave::serve {

ConnectionPool::ConnectionPool(std::size_t n_threads, std::size_t max_pending)
    : max_pending_(max_pending) {
  for (std::size_t i = 0; i < n_threads; ++i) threads_.emplace_back([this] { work(); });
}

ConnectionPool::~ConnectionPool() { shutdown(); }

void ConnectionPool::enqueue(std::function<void()> fn) {
  {
    std::unique_lock lock(mutex_);
    if (!stopping_ && pending_.size() >= max_pending_) {
      ++n_waited_;
      room_.wait(lock, [this] { return stopping_ || pending_.size() < max_pending_; });
    }
    if (!stopping_) {
      pending_.push_back(std::move(fn));
      ready_.notify_one();
      return;
    }
  }
  fn();  // stopping: the workers may be gone, and nothing accepted is dropped
}

void ConnectionPool::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  ready_.notify_all();
  room_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

std::size_t ConnectionPool::n_waited() const {
  std::lock_guard lock(mutex_);
  return n_waited_;
}

void ConnectionPool::work() {
  for (;;) {
    std::function<void()> fn;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      // Connections already accepted are still served when stopping.
      if (pending_.empty()) return;
      fn = std::move(pending_.front());
      pending_.pop_front();
      room_.notify_one();
    }
    fn();
  }
}

}  // namespace enclave::serve
