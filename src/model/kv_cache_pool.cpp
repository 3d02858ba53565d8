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

KvCachePool::KvCachePool(int n_blocks, int block_size, int n_seqs, bool prefix_cache, int window,
                         int max_chunk)
    : block_size_(block_size),
      prefix_cache_(prefix_cache),
      window_(window),
      held_cap_(held_cap(block_size, window, max_chunk)) {
  ENCLAVE_CHECK(n_blocks > 0 && block_size > 0 && n_seqs > 0 && window >= 0);
  ENCLAVE_CHECK(window == 0 || max_chunk > 0);
  // Every sequence's window fits at once, so none needs a reservation.
  ENCLAVE_CHECK(window == 0 || n_blocks >= n_seqs * held_cap_);
  seqs_.resize(n_seqs);
  refs_.assign(n_blocks, 0);
  ever_used_.assign(n_blocks, false);
  cached_.resize(n_blocks);
  lru_at_.resize(n_blocks);
  // A stack: the lowest ids are handed out first.
  for (int b = n_blocks - 1; b >= 0; --b) free_.push_back(b);
}

int KvCachePool::held_cap(int block_size, int window, int max_chunk) {
  if (window == 0) return 0;
  // window - 1 + max_chunk positions, starting anywhere inside a block:
  // n positions span at most ceil((n - 1) / block_size) + 1 blocks.
  const int n = window - 1 + max_chunk;
  return (n - 1 + block_size - 1) / block_size + 1;
}

int KvCachePool::first_visible_block(int position) const {
  return window_ == 0 ? 0 : std::max(0, position - window_ + 1) / block_size_;
}

int KvCachePool::n_available() const {
  return static_cast<int>(free_.size() + lru_.size()) - n_reserved_;
}

int KvCachePool::blocks_for(std::int64_t n_tokens) const {
  return static_cast<int>((n_tokens + block_size_ - 1) / block_size_);
}

std::optional<int> KvCachePool::lookup(std::uint64_t parent, std::uint64_t hash,
                                       std::span<const TokenId> tokens) const {
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return std::nullopt;
  const Block& b = cached_[it->second];
  if (b.parent != parent ||
      !std::equal(b.tokens.begin(), b.tokens.end(), tokens.begin(), tokens.end())) {
    return std::nullopt;  // a hash collision
  }
  return it->second;
}

std::vector<int> KvCachePool::cached_blocks(std::span<const TokenId> prompt, std::uint64_t salt,
                                            std::vector<std::uint64_t>* chains) const {
  std::vector<int> found;
  if (!prefix_cache_ || prompt.empty()) return found;
  const std::size_t bs = static_cast<std::size_t>(block_size_);
  const std::size_t max_blocks = (prompt.size() - 1) / bs;  // leave a token to compute
  std::uint64_t chain = salt;
  for (std::size_t i = 0; i < max_blocks; ++i) {
    std::span<const TokenId> tokens = prompt.subspan(i * bs, bs);
    const std::uint64_t hash = block_hash(chain, tokens);
    found.push_back(lookup(chain, hash, tokens).value_or(-1));
    chain = hash;
    if (chains != nullptr) chains->push_back(chain);
    // Without a window a prefix ends at its first miss.
    if (window_ == 0 && found.back() < 0) break;
  }
  return found;
}

int KvCachePool::usable_blocks(const std::vector<int>& found, int limit) const {
  // missing[i]: blocks before i that are not cached.
  std::vector<int> missing(found.size() + 1, 0);
  for (std::size_t i = 0; i < found.size(); ++i) missing[i + 1] = missing[i] + (found[i] < 0);
  for (int b = std::min(limit / block_size_, static_cast<int>(found.size())); b > 0; --b) {
    if (missing[b] == missing[first_visible_block(b * block_size_)]) return b;
  }
  return 0;
}

int KvCachePool::cached_prefix(std::span<const TokenId> prompt, std::uint64_t salt,
                               int limit) const {
  return block_size_ * usable_blocks(cached_blocks(prompt, salt, nullptr), limit);
}

std::optional<int> KvCachePool::begin(int seq, std::span<const TokenId> prompt, int n_tokens,
                                      std::uint64_t salt, int limit) {
  Seq& s = seqs_[seq];
  ENCLAVE_CHECK(!s.started && n_tokens >= static_cast<int>(prompt.size()));
  std::vector<std::uint64_t> chains;
  const std::vector<int> found = cached_blocks(prompt, salt, &chains);
  const int n_cached = usable_blocks(found, limit);
  const int first = first_visible_block(n_cached * block_size_);
  const std::vector<int> matched(found.begin() + first, found.begin() + n_cached);
  const int n_matched = static_cast<int>(matched.size());
  const int total = blocks_for(n_tokens);
  // A windowed pool holds every sequence's window at once (at most
  // held_cap blocks each, n_seqs of them): a sequence always finds its next
  // block, so it reserves none. Reserving there would also be wrong: a
  // block it shares with another sequence does not come back to the pool
  // when it leaves the window.
  const int need = window_ > 0 ? 0 : std::max(0, total - n_matched);
  const int idle_matched = static_cast<int>(
      std::count_if(matched.begin(), matched.end(), [&](int b) { return refs_[b] == 0; }));
  if (need > n_available() - idle_matched) return std::nullopt;
  for (int b : matched) hold(b);
  s.started = true;
  s.blocks.assign(static_cast<std::size_t>(first), -1);
  s.blocks.insert(s.blocks.end(), matched.begin(), matched.end());
  s.tokens.assign(prompt.begin(), prompt.begin() + n_cached * block_size_);
  s.n_reserved = need;
  s.first_held = first;
  s.n_committed = n_cached;
  s.chain = n_cached > 0 ? chains[n_cached - 1] : salt;
  n_reserved_ += need;
  if (prefix_cache_) {
    stats_.queried_tokens += static_cast<std::int64_t>(prompt.size());
    stats_.hit_tokens += static_cast<std::int64_t>(n_cached) * block_size_;
  }
  return n_cached * block_size_;
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
  // A windowed pool's sequence grows by at most max_chunk tokens at a time.
  ENCLAVE_CHECK(window_ == 0 ||
                static_cast<int>(s.blocks.size()) + std::max(need, 0) - s.first_held <= held_cap_);
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

void KvCachePool::forget_out_of_window(int seq) {
  Seq& s = seqs_[seq];
  if (window_ == 0 || !s.started) return;
  const int keep = std::min(first_visible_block(static_cast<int>(s.tokens.size())),
                            static_cast<int>(s.blocks.size()));
  for (; s.first_held < keep; ++s.first_held) {
    int& b = s.blocks[s.first_held];
    if (b < 0) continue;
    drop(b);
    b = -1;
  }
}

void KvCachePool::end(int seq) {
  Seq& s = seqs_[seq];
  if (!s.started) return;
  // Last block first: the least recently used end of the LRU then holds a
  // prefix's tail, so eviction shortens cached prefixes instead of cutting
  // their heads (which would strand the rest).
  for (auto it = s.blocks.rbegin(); it != s.blocks.rend(); ++it) {
    if (*it >= 0) drop(*it);
  }
  n_reserved_ -= s.n_reserved;
  s = Seq{};
}

}  // namespace enclave
