#include "text/bpe_word_cache.h"

#include <mutex>

namespace enclave {

BpeWordCache::BpeWordCache(std::size_t capacity) : per_shard_((capacity + kShards - 1) / kShards) {}

bool BpeWordCache::find(std::string_view word, std::vector<TokenId>& out) const {
  if (per_shard_ == 0 || word.size() > kMaxWordBytes) return false;
  const Key key = key_of(word);
  const Shard& shard = shards_[shard_of(key)];
  std::shared_lock lock(shard.mutex, std::try_to_lock);
  if (!lock.owns_lock()) return false;
  auto it = shard.words.find(key);
  if (it == shard.words.end()) return false;
  out.insert(out.end(), it->second.begin(), it->second.end());
  return true;
}

void BpeWordCache::insert(std::string_view word, std::span<const TokenId> ids) {
  if (per_shard_ == 0 || word.size() > kMaxWordBytes) return;
  const Key key = key_of(word);
  Shard& shard = shards_[shard_of(key)];
  std::unique_lock lock(shard.mutex, std::try_to_lock);
  if (!lock.owns_lock() || shard.words.size() >= per_shard_) return;
  shard.words.try_emplace(Entry{std::string(word), key.hash}, ids.begin(), ids.end());
}

std::size_t BpeWordCache::size() const {
  std::size_t n = 0;
  for (const Shard& shard : shards_) {
    std::shared_lock lock(shard.mutex);
    n += shard.words.size();
  }
  return n;
}

}  // namespace enclave
