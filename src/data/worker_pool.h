// WorkerPool: a fixed set of threads that run one parallel loop at a time,
// so a data step uses every core on each batch of documents without paying
// thread start-up per batch. Items are handed out in small chunks from an
// atomic counter (dynamic scheduling: documents vary widely in length).
// Thread safety: for_each is called from one thread at a time; fn runs on
// the pool's threads and the caller's, concurrently for different items.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace enclave::data {

class WorkerPool {
 public:
  // threads <= 0: one per hardware thread. The caller's thread also works,
  // so threads == 1 starts no extra thread.
  explicit WorkerPool(int threads = 0);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int size() const { return static_cast<int>(threads_.size()) + 1; }

  // Calls fn(i, worker) for every i in [0, n), worker in [0, size()), and
  // returns when all are done. The first exception fn throws is rethrown here
  // after the loop stops handing out items.
  void for_each(std::size_t n, const std::function<void(std::size_t, int)>& fn);

 private:
  void work(int worker);
  void run_items(int worker);

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(std::size_t, int)>* fn_ = nullptr;
  std::size_t n_ = 0;
  std::size_t next_ = 0;
  std::size_t generation_ = 0;
  int busy_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

// Number of worker threads for a --threads value (<= 0: all cores).
int resolve_threads(int threads);

}  // namespace enclave::data
