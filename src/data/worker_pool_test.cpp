#include "data/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

namespace enclave::data {
namespace {

TEST(WorkerPool, RunsEveryItemOnceAcrossManyLoops) {
  WorkerPool pool(4);
  for (int round = 0; round < 50; ++round) {
    std::vector<int> hits(1000, 0);
    pool.for_each(hits.size(), [&](std::size_t i, int worker) {
      EXPECT_LT(worker, pool.size());
      ++hits[i];
    });
    for (int h : hits) ASSERT_EQ(h, 1);
  }
}

TEST(WorkerPool, RethrowsTheFirstError) {
  WorkerPool pool(3);
  EXPECT_THROW(pool.for_each(100,
                             [](std::size_t i, int) {
                               if (i == 37) throw std::runtime_error("boom");
                             }),
               std::runtime_error);
  std::atomic<int> n{0};
  pool.for_each(10, [&](std::size_t, int) { ++n; });
  EXPECT_EQ(n.load(), 10);
}

}  // namespace
}  // namespace enclave::data
