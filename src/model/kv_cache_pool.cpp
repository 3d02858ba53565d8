#include "model/kv_cache_pool.h"

#include <algorithm>

#include "core/error.h"

namespace enclave {
namespace {

// FNV-1a over the token ids, seeded with the previous blocks' hash and
// finished with splitmix64's mixer; matches are verified on the tokens.
std::uint64_t block_hash(std::uint64_t parent, std::span<const TokenId> tokens) {
  std::uint64_t h = parent ^ 0xcbf29ce484222325ULL;
  for (TokenId t : tokens) {
    h ^= static_cast<std::uint32_t>(t);
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

}  // namespace

KvCachePool::KvCachePool(int n_blocks, int block_size, int n_seqs, bool prefix_cache)
    : block_size_(block_size), prefix_cache_(prefix_cache) {
  ENCLAVE_CHECK(n_blocks > 0 && block_size > 0 && n_seqs > 0);
  seqs_.resize(n_seqs);
  refs_.assign(n_blocks, 0);
  ever_used_.assign(n_blocks, false);
  cached_.resize(n_blocks);
  lru_at_.resize(n_blocks);
  // A stack: the lowest ids are handed out first.
  for (int b = n_blocks - 1; b >= 0; --b) free_.push_back(b);
}

int KvCachePool::n_available() const {
  return static_cast<int>(free_.size() + lru_.size()) - n_reserved_;
}

int KvCachePool::blocks_for(std::int64_t n_tokens) const {
  return static_cast<int>((n_tokens + block_size_ - 1) / block_size_);
}

std::optional<int> KvCachePool::lookup(std::uint64_t parent,
                                       std::span<const TokenId> tokens) const {
  auto it = by_hash_.find(block_hash(parent, tokens));
  if (it == by_hash_.end()) return std::nullopt;
  const Block& b = cached_[it->second];
  if (b.parent != parent ||
      !std::equal(b.tokens.begin(), b.tokens.end(), tokens.begin(), tokens.end())) {
    return std::nullopt;  // a hash collision
  }
  return it->second;
}

std::optional<int> KvCachePool::begin(int seq, std::span<const TokenId> prompt, int n_tokens,
                                      std::uint64_t salt) {
  Seq& s = seqs_[seq];
  ENCLAVE_CHECK(!s.started && n_tokens >= static_cast<int>(prompt.size()));
  std::vector<int> matched;
  std::uint64_t chain = salt;
  if (prefix_cache_ && !prompt.empty()) {
    const std::size_t bs = static_cast<std::size_t>(block_size_);
    const std::size_t max_blocks = (prompt.size() - 1) / bs;  // leave a token to compute
    for (std::size_t i = 0; i < max_blocks; ++i) {
      std::span<const TokenId> tokens = prompt.subspan(i * bs, bs);
      std::optional<int> b = lookup(chain, tokens);
      if (!b) break;
      matched.push_back(*b);
      chain = cached_[*b].hash;
    }
  }
  const int n_matched = static_cast<int>(matched.size());
  const int need = std::max(0, blocks_for(n_tokens) - n_matched);
  const int idle_matched = static_cast<int>(
      std::count_if(matched.begin(), matched.end(), [&](int b) { return refs_[b] == 0; }));
  if (need > n_available() - idle_matched) return std::nullopt;
  for (int b : matched) hold(b);
  s.started = true;
  s.blocks = std::move(matched);
  s.tokens.assign(prompt.begin(), prompt.begin() + n_matched * block_size_);
  s.n_reserved = need;
  s.n_committed = n_matched;
  s.chain = chain;
  n_reserved_ += need;
  if (prefix_cache_) {
    stats_.queried_tokens += static_cast<std::int64_t>(prompt.size());
    stats_.hit_tokens += static_cast<std::int64_t>(n_matched) * block_size_;
  }
  return n_matched * block_size_;
}

void KvCachePool::hold(int block) {
  if (refs_[block]++ > 0) return;
  ++n_used_;
  if (cached_[block].registered) lru_.erase(lru_at_[block]);
}

void KvCachePool::drop(int block) {
  ENCLAVE_CHECK(refs_[block] > 0);
  if (--refs_[block] > 0) return;
  --n_used_;
  if (cached_[block].registered) {
    lru_at_[block] = lru_.insert(lru_.end(), block);
  } else {
    free_.push_back(block);
  }
}

int KvCachePool::take_block(std::vector<int>& fresh) {
  int b = 0;
  if (!free_.empty()) {
    b = free_.back();
    free_.pop_back();
  } else {
    ENCLAVE_CHECK(!lru_.empty());
    b = lru_.front();
    lru_.pop_front();
    Block& entry = cached_[b];
    auto it = by_hash_.find(entry.hash);
    if (it != by_hash_.end() && it->second == b) by_hash_.erase(it);
    entry = Block{};
    ++stats_.evicted_blocks;
  }
  if (!ever_used_[b]) {
    ever_used_[b] = true;
    fresh.push_back(b);
  }
  refs_[b] = 1;
  ++n_used_;
  return b;
}

std::vector<int> KvCachePool::grow(int seq, std::span<const TokenId> tokens) {
  Seq& s = seqs_[seq];
  ENCLAVE_CHECK(s.started);
  const int need = blocks_for(static_cast<std::int64_t>(s.tokens.size() + tokens.size())) -
                   static_cast<int>(s.blocks.size());
  const int from_reserve = std::min(std::max(need, 0), s.n_reserved);
  if (need - from_reserve > n_available()) {
    fail_input(
        "kv cache: the pool of {} blocks of {} tokens is full and a sequence needs {} more "
        "than it reserved; raise --kv-cache-mb",
        n_blocks(), block_size_, need - from_reserve);
  }
  s.n_reserved -= from_reserve;
  n_reserved_ -= from_reserve;
  std::vector<int> fresh;
  for (int i = 0; i < need; ++i) s.blocks.push_back(take_block(fresh));
  s.tokens.insert(s.tokens.end(), tokens.begin(), tokens.end());
  return fresh;
}

void KvCachePool::commit(int seq) {
  if (!prefix_cache_) return;
  Seq& s = seqs_[seq];
  const int n_full = static_cast<int>(s.tokens.size()) / block_size_;
  for (; s.n_committed < n_full; ++s.n_committed) {
    std::span<const TokenId> tokens(s.tokens.data() + s.n_committed * block_size_,
                                    static_cast<std::size_t>(block_size_));
    const std::uint64_t h = block_hash(s.chain, tokens);
    const int b = s.blocks[s.n_committed];
    // Another block may hold the same tokens (two prompts computed at
    // once): the first one registered stays the cached copy.
    if (!by_hash_.contains(h)) {
      cached_[b] = Block{h, s.chain, std::vector<TokenId>(tokens.begin(), tokens.end()), true};
      by_hash_[h] = b;
    }
    s.chain = h;
  }
}

void KvCachePool::end(int seq) {
  Seq& s = seqs_[seq];
  if (!s.started) return;
  // Last block first: the least recently used end of the LRU then holds a
  // prefix's tail, so eviction shortens cached prefixes instead of cutting
  // their heads (which would strand the rest).
  for (auto it = s.blocks.rbegin(); it != s.blocks.rend(); ++it) drop(*it);
  n_reserved_ -= s.n_reserved;
  s = Seq{};
}

}  // namespace enclave
