#include "serve/connection_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace enclave::serve {
namespace {

TEST(ConnectionPool, ServesOnTheCallerWhenTheBacklogIsFull) {
  ConnectionPool pool(/*n_threads=*/1, /*max_pending=*/1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> done{0};
  std::promise<void> started;
  // The one worker blocks on the first connection; the second waits in the backlog.
  pool.enqueue([&] {
    started.set_value();
    released.wait();
    ++done;
  });
  started.get_future().wait();
  pool.enqueue([&] { ++done; });
  EXPECT_EQ(pool.n_overflow(), 0u);
  // The third finds the backlog full and runs here, before enqueue returns.
  const auto caller = std::this_thread::get_id();
  std::thread::id ran_on;
  pool.enqueue([&] {
    ran_on = std::this_thread::get_id();
    ++done;
  });
  EXPECT_EQ(ran_on, caller);
  EXPECT_EQ(pool.n_overflow(), 1u);
  release.set_value();
  pool.shutdown();
  EXPECT_EQ(done.load(), 3);  // nothing accepted is dropped, also at shutdown
}

}  // namespace
}  // namespace enclave::serve
