// BpeWordCache: the ids of recently encoded words, so a word seen before
// skips BPE's merge loop. Text repeats its words (Zipf), so most of a
// corpus is looked up, not merged: Hugging Face tokenizers' BPE keeps the
// same cache (`cache_capacity`, words of at most 256 bytes, 64 shards under
// read-write locks that are tried, never waited for). Its default holds
// 10,000 words; ours 100,000 (about 10 MB), because the words a training
// corpus uses go well past 10,000 and each miss costs a full merge loop
// (pretraining's tokenising ran 1.7x faster on a 20,000-word corpus).
//
// A lookup or insert that finds its shard locked by another thread, an
// insert into a full shard and a word longer than kMaxWordBytes simply
// miss, so the cache changes how fast a word is encoded, never its ids.
// Thread safety: every method may be called from many threads at once.
#pragma once

#include <array>
#include <cstddef>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/tokenizer.h"

namespace enclave {

class BpeWordCache {
 public:
  static constexpr std::size_t kDefaultCapacity = 100000;
  static constexpr std::size_t kMaxWordBytes = 256;

  // Holds at most `capacity` words; 0 turns the cache off.
  explicit BpeWordCache(std::size_t capacity = kDefaultCapacity);
  BpeWordCache(const BpeWordCache&) = delete;
  BpeWordCache& operator=(const BpeWordCache&) = delete;

  // Appends word's ids to out and returns true when it is cached.
  bool find(std::string_view word, std::vector<TokenId>& out) const;
  // Remembers word's ids unless the word is too long, its shard is full or
  // another thread holds the shard.
  void insert(std::string_view word, std::span<const TokenId> ids);
  // Words held now.
  std::size_t size() const;
  std::size_t capacity() const { return per_shard_ * kShards; }

 private:
  static constexpr std::size_t kShards = 64;
  // A word with its hash, computed once per lookup: the high bits pick the
  // shard, the map buckets by the whole.
  struct Key {
    std::string_view word;
    std::size_t hash;
  };
  struct Entry {
    std::string word;
    std::size_t hash;
  };
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(const Key& k) const { return k.hash; }
    std::size_t operator()(const Entry& e) const { return e.hash; }
  };
  struct KeyEqual {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return a.hash == b.hash && std::string_view(a.word) == std::string_view(b.word);
    }
  };
  struct Shard {
    mutable std::shared_mutex mutex;
    std::unordered_map<Entry, std::vector<TokenId>, KeyHash, KeyEqual> words;
  };
  static Key key_of(std::string_view word) { return {word, std::hash<std::string_view>{}(word)}; }
  static std::size_t shard_of(const Key& k) { return (k.hash >> 32) % kShards; }

  std::array<Shard, kShards> shards_;
  std::size_t per_shard_;
};

}  // namespace enclave
