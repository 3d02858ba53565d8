// Constrained decoding over a vocabulary: which tokens may come next so the
// output stays a prefix of a document a JsonGrammar accepts. Each token id
// is decoded once to the bytes it adds to the text (byte-level BPE pieces
// through GPT-2's byte alphabet; SentencePiece pieces with "▁" as a space
// and <0xNN> byte-fallback pieces as that byte); the pieces go into a byte
// trie, built once per tokenizer and shared. A mask walks the trie depth
// first, stepping the matcher one byte per edge, so a prefix the grammar
// refuses prunes every token under it, and tokens sharing a prefix share
// its work (the approach of llama.cpp's grammar sampler and Outlines'
// index, without precomputing states, which schemas with length counters
// would multiply).
// Special tokens never match text; the tokenizer's stop ids are allowed
// exactly when the document is complete, and then nothing else is.
// Thread safety: a VocabTrie is immutable and shared between threads; a
// GrammarConstraint belongs to one sequence (the scheduler thread).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "serve/json_grammar.h"
#include "serve/logits_processor.h"
#include "text/tokenizer.h"

namespace enclave::serve {

// The bytes a token adds to decoded text; nullopt for special tokens (and
// pieces that add nothing).
std::optional<std::string> token_bytes(const Tokenizer& tokenizer, TokenId id);

class VocabTrie {
 public:
  // Built from (id, bytes) pairs; ids must be >= 0.
  explicit VocabTrie(const std::vector<std::pair<TokenId, std::string>>& tokens);
  // The trie of a tokenizer, built on first use and cached while anyone
  // holds it (keyed by the tokenizer's address; a sequence holds its model,
  // so the tokenizer outlives every holder).
  static std::shared_ptr<const VocabTrie> of(const Tokenizer& tokenizer);

  // Sets allowed[id] = 1 for every token whose bytes the matcher accepts
  // whole (allowed must be large enough for every id; others untouched).
  void allowed(const JsonMatcher& matcher, std::span<std::uint8_t> allowed) const;
  const std::string& bytes(TokenId id) const;         // "" for ids not in the trie
  std::size_t size() const { return bytes_.size(); }  // one past the largest id

 private:
  // Compressed rows: node i's edges are edges_[edge_begin_[i], edge_begin_[i+1]),
  // the tokens ending at it ids_[id_begin_[i], id_begin_[i+1]).
  std::vector<std::uint32_t> edge_begin_, id_begin_;
  std::vector<std::pair<unsigned char, std::uint32_t>> edges_;
  std::vector<TokenId> ids_;
  std::vector<std::string> bytes_;  // by id
  std::size_t max_depth_ = 0;
};

// A TokenConstraint following a JsonGrammar.
class GrammarConstraint final : public TokenConstraint {
 public:
  GrammarConstraint(std::shared_ptr<const JsonGrammar> grammar,
                    std::shared_ptr<const VocabTrie> trie, std::vector<TokenId> stop_ids);
  void mask(std::span<float> logits) override;
  void accept(TokenId token) override;
  const JsonMatcher& matcher() const { return matcher_; }

 private:
  JsonMatcher matcher_;
  std::shared_ptr<const VocabTrie> trie_;
  std::vector<TokenId> stop_ids_;
  std::vector<std::uint8_t> allowed_;
  // Masks by JsonMatcher::state_key, so the tokens of one long string
  // walk the trie once; cleared when it holds kMaskCacheSize entries.
  static constexpr std::size_t kMaskCacheSize = 16;
  std::unordered_map<std::string, std::vector<std::uint8_t>> cache_;
};

}  // namespace enclave::serve
