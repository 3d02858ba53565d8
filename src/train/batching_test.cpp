#include "train/batching.h"

#include <gtest/gtest.h>

#include <set>

#include "core/error.h"

namespace enclave::train {
namespace {

TEST(DataOrder, EachEpochIsAPermutationAndSeekResumesExactly) {
  DataOrder order(10, 7);
  std::vector<std::size_t> first = order.next(10);
  EXPECT_EQ(std::set<std::size_t>(first.begin(), first.end()).size(), 10u);
  std::vector<std::size_t> second = order.next(4);  // crosses into epoch 1
  EXPECT_EQ(order.position().epoch, 1);
  EXPECT_EQ(order.position().index, 4);
  std::vector<std::size_t> rest = order.next(6);

  DataOrder resumed(10, 7);
  resumed.seek({1, 4});
  EXPECT_EQ(resumed.next(6), rest);
  DataOrder again(10, 7);
  EXPECT_EQ(again.next(10), first);
  DataOrder other(10, 8);
  EXPECT_NE(other.next(10), first);
  EXPECT_THROW(resumed.seek({0, 11}), Error);
  EXPECT_THROW(DataOrder(0, 1), Error);
}

TEST(Batching, ShardsInterleaveAndMicroBatchesRespectTheBudget) {
  std::vector<std::size_t> batch = {0, 1, 2, 3, 4};
  EXPECT_EQ(shard_batch(batch, 0, 2), (std::vector<std::size_t>{0, 2, 4}));
  EXPECT_EQ(shard_batch(batch, 1, 2), (std::vector<std::size_t>{1, 3}));

  std::vector<std::int64_t> lengths = {10, 40, 20, 5, 100};
  auto groups = micro_batches(
      batch, [&](std::size_t i) { return lengths[i]; }, 60);
  // Longest first: [4] alone (over budget), then [1] (40; 2 x 40 > 60), then [2, 0, 3] (3 x 20 =
  // 60).
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0], (std::vector<std::size_t>{4}));
  EXPECT_EQ(groups[1], (std::vector<std::size_t>{1}));
  EXPECT_EQ(groups[2], (std::vector<std::size_t>{2, 0, 3}));
  std::size_t total = 0;
  for (const auto& g : groups) total += g.size();
  EXPECT_EQ(total, batch.size());
}

}  // namespace
}  // namespace enclave::train
