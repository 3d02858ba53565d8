#include "serve/connection_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace enclave::serve {
namespace {

// A full backlog makes the accepting thread wait for room, never serve a
// connection itself: one slow client on that thread would stop every other
// client from being accepted while the workers sat idle.
TEST(ConnectionPool, WaitsForRoomWhenTheBacklogIsFull) {
  ConnectionPool pool(/*n_threads=*/1, /*max_pending=*/1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> done{0};
  std::promise<void> started;
  const auto caller = std::this_thread::get_id();
  std::atomic<bool> ran_on_caller{false};
  auto connection = [&] {
    ran_on_caller = ran_on_caller || std::this_thread::get_id() == caller;
    ++done;
  };
  // The one worker blocks on the first connection; the second waits in the backlog.
  pool.enqueue([&] {
    started.set_value();
    released.wait();
    connection();
  });
  started.get_future().wait();
  pool.enqueue(connection);
  EXPECT_EQ(pool.n_waited(), 0u);
  // The third finds the backlog full: enqueue returns only once the worker
  // has taken the second.
  std::atomic<bool> handed_over{false};
  std::thread acceptor([&] {
    pool.enqueue(connection);
    handed_over = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(handed_over);
  release.set_value();
  acceptor.join();
  EXPECT_EQ(pool.n_waited(), 1u);
  pool.shutdown();
  EXPECT_EQ(done.load(), 3);  // nothing accepted is dropped, also at shutdown
  EXPECT_FALSE(ran_on_caller);
}

}  // namespace
}  // namespace enclave::serve
