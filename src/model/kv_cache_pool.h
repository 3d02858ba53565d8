// KvCachePool: the bookkeeping of a paged KV cache (PagedAttention, Kwon et
// al. SOSP 2023; vLLM). The cache is one pool of fixed-size blocks of
// `block_size` token positions; a sequence holds a block table (its i-th
// block holds positions [i * block_size, (i + 1) * block_size)) and takes
// blocks as it grows, so memory follows the tokens actually cached instead
// of every slot's full context. This class only hands out block ids; the
// tensors they index live with the decoder (batch_decoder.cpp).
//
// Admission reserves a sequence's worst case (prompt + max output) up
// front, so a sequence once admitted never runs out of blocks mid-stream
// and never needs preempting: a request that does not fit waits.
//
// Prefix cache (vLLM's automatic prefix caching): a full block of prompt
// tokens is registered under a hash of its tokens and of every token
// before it (the hash of the previous block), so a later prompt that
// starts with the same tokens takes the same blocks instead of computing
// them again. Blocks are reference counted; a registered block no sequence
// holds stays cached and is evicted least recently used first when a free
// block is needed.
//
// A pool with a window (sliding-window layers: Gemma 2/3, Mistral) holds
// of each sequence only the blocks its next query can see, the last
// `window` positions: blocks that fall behind are dropped (to the prefix
// cache when registered), so a sequence holds at most held_cap() blocks
// however long it grows, and a block table keeps -1 where blocks were
// dropped. It has room for every sequence's window at once, so it admits
// any sequence and reserves nothing. A cached prefix of P tokens is usable when the blocks covering
// its last `window` positions are still cached (vLLM's hybrid allocator
// does the same for sliding-window layers).
// Torch-free. Thread safety: none; its decoder's thread only.
#pragma once

#include <cstdint>
#include <limits>
#include <list>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "text/tokenizer.h"  // TokenId

namespace enclave {

class KvCachePool {
 public:
  // n_blocks blocks of block_size positions for n_seqs sequence ids
  // [0, n_seqs). window > 0 keeps only each sequence's last `window`
  // positions; its sequences then grow by at most max_chunk tokens at a
  // time, and n_blocks must be at least n_seqs * held_cap. ENCLAVE_CHECK
  // fails for non-positive sizes.
  KvCachePool(int n_blocks, int block_size, int n_seqs, bool prefix_cache, int window = 0,
              int max_chunk = 0);
  // The most blocks a sequence of a windowed pool holds at once (blocks
  // covering window - 1 + max_chunk positions, unaligned); 0 without a window.
  static int held_cap(int block_size, int window, int max_chunk);

  int n_blocks() const { return static_cast<int>(refs_.size()); }
  int block_size() const { return block_size_; }
  // Blocks a new sequence could take now: free, plus cached ones no
  // sequence holds, minus those reserved by admitted sequences.
  int n_available() const;
  // Blocks held by at least one sequence.
  int n_used() const { return n_used_; }
  // Blocks needed for n_tokens positions.
  int blocks_for(std::int64_t n_tokens) const;

  // The longest prefix of prompt, at most `limit` tokens, that begin would
  // take from the cache: whole blocks, always leaving at least one prompt
  // token to compute (so the caller gets its logits); 0 without a prefix
  // cache.
  int cached_prefix(std::span<const TokenId> prompt, std::uint64_t salt, int limit) const;

  // Starts sequence `seq` (not started) whose prompt is `prompt` and which
  // will hold at most n_tokens positions: takes the cached blocks of
  // cached_prefix(prompt, salt, limit) and reserves the blocks for the
  // rest. Returns the number of cached prompt tokens, or nullopt (nothing
  // changed) when the pool cannot hold the sequence now. Sequences share
  // cached blocks only under the same `salt` (the LoRA adapter that
  // computed their K and V).
  std::optional<int> begin(int seq, std::span<const TokenId> prompt, int n_tokens,
                           std::uint64_t salt = 0, int limit = std::numeric_limits<int>::max());

  // Records that `tokens` follow the sequence's cached ones and makes sure
  // its blocks cover them, taking reserved blocks first. Returns the blocks
  // taken that were never used before (the caller zeroes them, so stale
  // memory is never read as NaN). Throws Error(kInvalidInput) when the
  // sequence outgrows its reservation and the pool has no block left;
  // nothing changes then.
  std::vector<int> grow(int seq, std::span<const TokenId> tokens);

  // Registers the sequence's full blocks not yet registered (their K and V
  // must be written) in the prefix cache. No-op without a prefix cache.
  void commit(int seq);

  // A windowed pool: drops the sequence's blocks that its next position
  // can no longer see (after commit, so registered ones stay cached).
  // No-op without a window.
  void forget_out_of_window(int seq);

  // Ends the sequence: drops its blocks (cached ones stay for reuse) and
  // its unused reservation.
  void end(int seq);

  bool started(int seq) const { return seqs_[seq].started; }
  int length(int seq) const { return static_cast<int>(seqs_[seq].tokens.size()); }
  const std::vector<int>& blocks(int seq) const { return seqs_[seq].blocks; }

  struct Stats {
    std::int64_t queried_tokens = 0;  // prompt tokens looked up in the prefix cache
    std::int64_t hit_tokens = 0;      // of those, found cached
    std::int64_t evicted_blocks = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Seq {
    bool started = false;
    std::vector<int> blocks;
    std::vector<TokenId> tokens;
    int n_reserved = 0;       // blocks still reserved for it
    int first_held = 0;       // blocks before it are dropped (-1): a window
    int n_committed = 0;      // leading blocks registered (or taken from) the prefix cache
    std::uint64_t chain = 0;  // hash of its committed blocks
  };
  struct Block {
    std::uint64_t hash = 0;
    std::uint64_t parent = 0;  // hash of the blocks before it
    std::vector<TokenId> tokens;
    bool registered = false;
  };

  int take_block(std::vector<int>& fresh);
  void hold(int block);
  void drop(int block);
  // The cached block of tokens after `parent` (hash: of both), verified on the tokens.
  std::optional<int> lookup(std::uint64_t parent, std::uint64_t hash,
                            std::span<const TokenId> tokens) const;
  // The first block the query at `position` sees: 0 without a window.
  int first_visible_block(int position) const;
  // For each whole block of prompt that may be taken from the cache: its
  // cached block or -1, and the hash of the blocks up to it (chains);
  // without a window, up to the first miss only.
  std::vector<int> cached_blocks(std::span<const TokenId> prompt, std::uint64_t salt,
                                 std::vector<std::uint64_t>* chains) const;
  // The most of found's blocks (at most limit tokens) a sequence can take:
  // every one from the first its next query sees up to there is cached.
  int usable_blocks(const std::vector<int>& found, int limit) const;

  int block_size_;
  bool prefix_cache_;
  int window_;
  int held_cap_;
  std::vector<Seq> seqs_;
  std::vector<int> refs_;        // per block: sequences holding it
  std::vector<bool> ever_used_;  // per block
  std::vector<Block> cached_;    // per block: its prefix-cache entry
  std::vector<int> free_;        // unheld, unregistered blocks (a stack)
  std::list<int> lru_;           // unheld registered blocks, least recently used first
  std::vector<std::list<int>::iterator> lru_at_;  // per block, valid while in lru_
  std::unordered_map<std::uint64_t, int> by_hash_;
  int n_reserved_ = 0;
  int n_used_ = 0;
  Stats stats_;
};

}  // namespace enclave
