// BpeModel: the "model" section of a Hugging Face tokenizer.json of type
// BPE: a vocabulary (piece -> id), ranked merges, and the rules for pieces
// the vocabulary lacks (byte_fallback to "<0xNN>" pieces, else unk_token,
// with fuse_unk; without either the character is dropped, as HF does).
//
// Encoding a word follows tokenizers' Word::merge_all: start from one
// symbol per character and repeatedly apply the lowest-ranked merge among
// adjacent pairs (ties: leftmost), using a priority queue with lazy
// invalidation so a word of n characters costs O(n log n). With
// ignore_merges (Llama 3), a word that is itself in the vocabulary is
// emitted whole. Words already encoded are looked up in a BpeWordCache
// (bpe_word_cache.h) instead, as tokenizers' BPE does; the ids are the same.
// Thread safety: immutable after construction (but for the cache, which is
// safe to share); encode_word() is const and safe from many threads.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/bpe_word_cache.h"
#include "text/json_field.h"
#include "text/tokenizer.h"

namespace enclave {

// Hash for unordered_map<std::string, ...> lookups by string_view.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using PieceMap = std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>>;

// Largest token id we accept, so a hostile file cannot make us allocate a
// table of 2^31 entries (real vocabularies are < 300k).
inline constexpr std::int64_t kMaxTokenId = (std::int64_t{1} << 24) - 1;

class BpeModel {
 public:
  // Parses tokenizer.json's "model". Throws Error(kUnsupported) naming
  // "model.type" for other model types (WordPiece, Unigram, WordLevel) and
  // for options we do not implement (dropout, subword prefixes);
  // Error(kInvalidInput) naming the field for a malformed vocab or merges
  // (wrong types, duplicate ids, a merge whose pieces or result are not in
  // the vocabulary, an unk_token that is not in the vocabulary).
  // cache_capacity: words the word cache holds (0: no cache).
  static BpeModel from_json(const JsonField& model,
                            std::size_t cache_capacity = BpeWordCache::kDefaultCapacity);

  // Appends the ids of one pre-tokenized word (in the vocabulary's alphabet).
  void encode_word(std::string_view word, std::vector<TokenId>& out) const;
  // Words in the word cache now.
  std::size_t n_cached_words() const { return cache_->size(); }

  std::optional<TokenId> piece_to_id(std::string_view piece) const;
  // nullptr if the id has no piece.
  const std::string* id_to_piece(TokenId id) const;
  // One past the largest id in the vocabulary.
  std::size_t id_limit() const { return pieces_.size(); }
  std::size_t n_merges() const { return merges_.size(); }

 private:
  struct Merge {
    std::uint32_t rank;
    TokenId result;
  };
  static std::uint64_t pair_key(TokenId a, TokenId b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) |
           static_cast<std::uint32_t>(b);
  }
  void read_vocab(const JsonField& vocab);
  void read_merges(const JsonField& merges);
  const Merge* find_merge(TokenId a, TokenId b) const;
  // encode_word without the cache.
  void merge_word(std::string_view word, std::vector<TokenId>& out) const;

  PieceMap vocab_;
  std::vector<std::string> pieces_;  // by id; see has_piece_
  std::vector<bool> has_piece_;
  std::unordered_map<std::uint64_t, Merge> merges_;
  std::array<TokenId, 256> byte_ids_{};  // "<0xNN>" pieces, -1 when absent
  // Pieces of one code point below kCharIds (byte-level's alphabet, Latin,
  // Greek, Cyrillic...) by code point, -1 when absent: the first step of
  // every word, without hashing.
  static constexpr char32_t kCharIds = 0x800;
  std::vector<TokenId> char_ids_;
  std::optional<TokenId> unk_id_;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  // Shared by the model's copies: the cache of one vocabulary and merges.
  std::shared_ptr<BpeWordCache> cache_ = std::make_shared<BpeWordCache>(0);
};

}  // namespace enclave
