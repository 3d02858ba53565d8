#include "model/kv_cache_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <vector>

namespace enclave {
namespace {

// The pool's bookkeeping: reservations, shared prefix blocks, eviction.
TEST(KvCachePool, ReservesSequencesSharesPrefixBlocksAndEvictsLeastRecentlyUsed) {
  KvCachePool pool(/*n_blocks=*/6, /*block_size=*/4, /*n_seqs=*/3, /*prefix_cache=*/true);
  const std::vector<TokenId> a = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  ASSERT_EQ(pool.begin(0, a, 12), 0);  // three blocks reserved
  EXPECT_EQ(pool.n_available(), 3);
  EXPECT_EQ(pool.begin(1, a, 16), std::nullopt);  // four do not fit
  EXPECT_FALSE(pool.started(1));
  EXPECT_EQ(pool.grow(0, a).size(), 3u);  // three fresh blocks
  pool.commit(0);                         // its two full blocks are now cached
  const std::vector<TokenId> b = {1, 2, 3, 4, 5, 6, 7, 8, 10, 11};
  ASSERT_EQ(pool.begin(1, b, 12), 8);
  EXPECT_EQ(pool.blocks(1), std::vector<int>(pool.blocks(0).begin(), pool.blocks(0).begin() + 2));
  EXPECT_EQ(pool.n_used(), 3);
  // A prompt that is all cached still leaves its last block to compute.
  ASSERT_EQ(pool.begin(2, std::span<const TokenId>(a).first(8), 8), 4);
  pool.end(2);
  pool.end(0);
  pool.end(1);
  EXPECT_EQ(pool.n_used(), 0);
  EXPECT_EQ(pool.n_available(), 6);  // cached blocks are free to evict
  EXPECT_EQ(pool.stats().hit_tokens, 12);
  const std::vector<TokenId> other(24, 7);
  ASSERT_EQ(pool.begin(2, other, 24), 0);
  pool.grow(2, other);
  EXPECT_EQ(pool.stats().evicted_blocks, 2);
  pool.end(2);
  EXPECT_EQ(pool.begin(0, a, 12), 0);  // evicted: nothing cached any more
}

int n_held(const std::vector<int>& blocks) {
  return static_cast<int>(
      std::count_if(blocks.begin(), blocks.end(), [](int b) { return b >= 0; }));
}

// A windowed pool (sliding-window layers): a sequence holds only the blocks
// its next position sees, those it left behind stay cached, and a prefix is
// reused when the blocks of its last window are cached, even when earlier
// ones were evicted.
TEST(KvCachePool, AWindowedPoolHoldsTheWindowAndReusesPrefixesWhoseWindowIsCached) {
  // Window 6 and chunks of 4 over blocks of 4: 9 positions, 4 blocks at most.
  ASSERT_EQ(KvCachePool::held_cap(4, 6, 4), 4);
  KvCachePool pool(/*n_blocks=*/5, /*block_size=*/4, /*n_seqs=*/2, /*prefix_cache=*/true,
                   /*window=*/6, /*max_chunk=*/4);
  std::vector<TokenId> a(22);
  std::iota(a.begin(), a.end(), 1);
  ASSERT_EQ(pool.begin(0, a, 30), 0);
  EXPECT_EQ(pool.n_available(), 1);  // four blocks reserved, not the eight of 30 tokens
  for (std::size_t at = 0; at < a.size(); at += 4) {
    const std::span<const TokenId> part =
        std::span<const TokenId>(a).subspan(at, std::min<std::size_t>(4, a.size() - at));
    pool.grow(0, part);
    pool.commit(0);
    pool.forget_out_of_window(0);
    EXPECT_LE(n_held(pool.blocks(0)), 4);
  }
  // Position 22 sees 17..22: blocks 4 and 5. The first block was evicted
  // for the last one (five blocks in all).
  const std::vector<int> table = pool.blocks(0);
  ASSERT_EQ(table.size(), 6u);
  EXPECT_EQ(std::vector<int>(table.begin(), table.begin() + 4), std::vector<int>(4, -1));
  EXPECT_EQ(n_held(table), 2);
  EXPECT_EQ(pool.stats().evicted_blocks, 1);

  // The same 20 tokens, then others: position 20 sees 15..20, blocks 3 and
  // 4 of the first sequence, both cached; block 0 is not needed.
  pool.end(0);
  std::vector<TokenId> b(a.begin(), a.begin() + 20);
  b.insert(b.end(), {99, 98});
  EXPECT_EQ(pool.cached_prefix(b, 0, 1000), 20);
  EXPECT_EQ(pool.cached_prefix(b, 0, 19), 16);  // at most 19: position 16 sees blocks 2 and 3
  EXPECT_EQ(pool.cached_prefix(b, /*salt=*/1, 1000), 0);
  ASSERT_EQ(pool.begin(1, b, 26), 20);
  const std::vector<int>& reused = pool.blocks(1);
  EXPECT_EQ(std::vector<int>(reused.begin(), reused.begin() + 3), std::vector<int>(3, -1));
  EXPECT_GE(reused[3], 0);
  EXPECT_EQ(reused[4], table[4]);
  pool.end(1);
  EXPECT_EQ(pool.n_used(), 0);
  EXPECT_EQ(pool.n_available(), 5);
}

}  // namespace
}  // namespace enclave
