#include "model/kv_cache_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <optional>
#include <random>
#include <span>
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
  // Window 6 and chunks of 4 over blocks of 4: 9 positions, 3 blocks at
  // most (4 when the chunk is 5); five blocks have room for one sequence's
  // window.
  ASSERT_EQ(KvCachePool::held_cap(4, 6, 4), 3);
  ASSERT_EQ(KvCachePool::held_cap(4, 6, 5), 4);
  KvCachePool pool(/*n_blocks=*/5, /*block_size=*/4, /*n_seqs=*/1, /*prefix_cache=*/true,
                   /*window=*/6, /*max_chunk=*/4);
  std::vector<TokenId> a(22);
  std::iota(a.begin(), a.end(), 1);
  ASSERT_EQ(pool.begin(0, a, 30), 0);
  EXPECT_EQ(pool.n_available(), 5);  // nothing reserved: every sequence's window fits
  for (std::size_t at = 0; at < a.size(); at += 4) {
    const std::span<const TokenId> part =
        std::span<const TokenId>(a).subspan(at, std::min<std::size_t>(4, a.size() - at));
    pool.grow(0, part);
    pool.commit(0);
    pool.forget_out_of_window(0);
    EXPECT_LE(n_held(pool.blocks(0)), 3);
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
  ASSERT_EQ(pool.begin(0, b, 26), 20);
  const std::vector<int>& reused = pool.blocks(0);
  EXPECT_EQ(std::vector<int>(reused.begin(), reused.begin() + 3), std::vector<int>(3, -1));
  EXPECT_GE(reused[3], 0);
  EXPECT_EQ(reused[4], table[4]);
  pool.end(0);
  EXPECT_EQ(pool.n_used(), 0);
  EXPECT_EQ(pool.n_available(), 5);
}

// Random work over a small pool, with and without a window: prompts that
// share prefixes (cache hits, so blocks held by two sequences), prefills in
// chunks, decoding, ends. Once admitted, a sequence never fails to grow
// (its reservation holds; a window pool has room for every window, also
// when a block one sequence leaves behind stays held by another), holds at
// most its cap, and the counts stay consistent.
TEST(KvCachePool, RandomWorkNeverRunsAnAdmittedSequenceOutOfBlocks) {
  constexpr int kBlock = 4, kSeqs = 4, kChunk = 4;
  for (int window : {0, 6}) {
    SCOPED_TRACE(window);
    // Tight pools: every slot's window and no more, or fewer blocks than
    // four whole sequences need.
    const int cap = KvCachePool::held_cap(kBlock, window, kChunk);
    const int n_blocks = window > 0 ? kSeqs * cap : 40;
    KvCachePool pool(n_blocks, kBlock, kSeqs, /*prefix_cache=*/true, window,
                     window > 0 ? kChunk : 0);
    std::mt19937 rng(static_cast<unsigned>(17 + window));
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    struct Live {
      std::vector<TokenId> prompt;
      int n_tokens = 0;
    };
    std::vector<Live> live(kSeqs);
    int admitted = 0, hits = 0;
    for (int op = 0; op < 4000; ++op) {
      const int seq = pick(kSeqs);
      Live& l = live[seq];
      if (!pool.started(seq)) {
        // One of three prefixes of 12 tokens, then a random tail.
        const int prefix = pick(3);
        l.prompt.clear();
        for (int i = 0; i < 12; ++i) l.prompt.push_back(static_cast<TokenId>(prefix * 100 + i));
        for (int i = pick(14); i > 0; --i) l.prompt.push_back(static_cast<TokenId>(pick(50)));
        l.n_tokens = static_cast<int>(l.prompt.size()) + 1 + pick(20);
        const std::optional<int> cached = pool.begin(seq, l.prompt, l.n_tokens, /*salt=*/0);
        if (!cached) continue;
        ++admitted;
        hits += *cached > 0;
        ASSERT_EQ(pool.length(seq), *cached);
        // Chunks of 1 to kChunk tokens, so they start anywhere in a block.
        for (int at = *cached, n = 0; at < static_cast<int>(l.prompt.size()); at += n) {
          n = std::min(1 + pick(kChunk), static_cast<int>(l.prompt.size()) - at);
          ASSERT_NO_THROW(pool.grow(seq, std::span<const TokenId>(l.prompt).subspan(at, n)));
          pool.commit(seq);
          pool.forget_out_of_window(seq);
        }
      } else if (pool.length(seq) < l.n_tokens && pick(4) != 0) {
        const TokenId t = static_cast<TokenId>(pick(50));
        ASSERT_NO_THROW(pool.grow(seq, std::span<const TokenId>(&t, 1)));
        pool.commit(seq);
        pool.forget_out_of_window(seq);
      } else {
        pool.end(seq);
      }
      ASSERT_GE(pool.n_available(), 0);
      int held = 0;
      for (int s = 0; s < kSeqs; ++s) {
        if (!pool.started(s)) continue;
        const int n = n_held(pool.blocks(s));
        if (window > 0) EXPECT_LE(n, cap);
        held += n;
      }
      EXPECT_LE(pool.n_used(), held);  // shared blocks count once
    }
    for (int s = 0; s < kSeqs; ++s) pool.end(s);
    EXPECT_EQ(pool.n_used(), 0);
    EXPECT_EQ(pool.n_available(), n_blocks);
    EXPECT_GT(admitted, 100);
    EXPECT_GT(hits, 20);
  }
}

}  // namespace
}  // namespace enclave
