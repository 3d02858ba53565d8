#include "serve/token_grammar.h"

#include <algorithm>
#include <limits>
#include <map>
#include <mutex>

#include "core/error.h"
#include "text/byte_level.h"

namespace enclave::serve {

std::optional<std::string> token_bytes(const Tokenizer& tokenizer, TokenId id) {
  if (tokenizer.is_special(id)) return std::nullopt;
  const std::string piece = tokenizer.id_to_piece(id);
  std::string bytes;
  if (tokenizer.kind() == "bpe-byte-level") {
    std::optional<std::string> raw = from_byte_level(piece);
    bytes = raw ? *raw : piece;  // an added token's text is kept as written
  } else if (piece.size() == 6 && piece.starts_with("<0x") && piece.back() == '>') {
    bytes = std::string(1, static_cast<char>(std::stoi(piece.substr(3, 2), nullptr, 16)));
  } else {
    static const std::string kSpace = "\xe2\x96\x81";  // U+2581, SentencePiece's space
    for (std::size_t i = 0; i < piece.size();) {
      if (piece.compare(i, kSpace.size(), kSpace) == 0) {
        bytes += ' ';
        i += kSpace.size();
      } else {
        bytes += piece[i++];
      }
    }
  }
  if (bytes.empty()) return std::nullopt;
  return bytes;
}

VocabTrie::VocabTrie(const std::vector<std::pair<TokenId, std::string>>& tokens) {
  // Built with per-node edge lists, then flattened.
  std::vector<std::vector<std::pair<unsigned char, std::uint32_t>>> children(1);
  std::vector<std::vector<TokenId>> ends(1);
  for (const auto& [id, bytes] : tokens) {
    ENCLAVE_CHECK(id >= 0);
    if (static_cast<std::size_t>(id) >= bytes_.size())
      bytes_.resize(static_cast<std::size_t>(id) + 1);
    bytes_[static_cast<std::size_t>(id)] = bytes;
    std::uint32_t node = 0;
    for (unsigned char b : bytes) {
      auto& edges = children[node];
      auto it =
          std::find_if(edges.begin(), edges.end(), [&](const auto& e) { return e.first == b; });
      if (it != edges.end()) {
        node = it->second;
        continue;
      }
      const auto next = static_cast<std::uint32_t>(children.size());
      edges.emplace_back(b, next);
      children.emplace_back();
      ends.emplace_back();
      node = next;
    }
    ends[node].push_back(id);
    max_depth_ = std::max(max_depth_, bytes.size());
  }
  edge_begin_.reserve(children.size() + 1);
  id_begin_.reserve(children.size() + 1);
  for (std::size_t i = 0; i < children.size(); ++i) {
    edge_begin_.push_back(static_cast<std::uint32_t>(edges_.size()));
    id_begin_.push_back(static_cast<std::uint32_t>(ids_.size()));
    edges_.insert(edges_.end(), children[i].begin(), children[i].end());
    ids_.insert(ids_.end(), ends[i].begin(), ends[i].end());
  }
  edge_begin_.push_back(static_cast<std::uint32_t>(edges_.size()));
  id_begin_.push_back(static_cast<std::uint32_t>(ids_.size()));
}

std::shared_ptr<const VocabTrie> VocabTrie::of(const Tokenizer& tokenizer) {
  static std::mutex mutex;
  static std::map<const Tokenizer*, std::weak_ptr<const VocabTrie>> cache;
  std::lock_guard lock(mutex);
  if (std::shared_ptr<const VocabTrie> trie = cache[&tokenizer].lock()) return trie;
  std::vector<std::pair<TokenId, std::string>> tokens;
  for (std::size_t i = 0; i < tokenizer.vocab_size(); ++i) {
    const auto id = static_cast<TokenId>(i);
    if (std::optional<std::string> bytes = token_bytes(tokenizer, id))
      tokens.emplace_back(id, std::move(*bytes));
  }
  auto trie = std::make_shared<const VocabTrie>(tokens);
  cache[&tokenizer] = trie;
  return trie;
}

const std::string& VocabTrie::bytes(TokenId id) const {
  static const std::string kNone;
  if (id < 0 || static_cast<std::size_t>(id) >= bytes_.size()) return kNone;
  return bytes_[static_cast<std::size_t>(id)];
}

void VocabTrie::allowed(const JsonMatcher& matcher, std::span<std::uint8_t> allowed) const {
  // Depth-first, one matcher per depth whose buffers are reused.
  std::vector<JsonMatcher> at(max_depth_ + 1);
  at[0] = matcher;
  struct Pending {
    std::uint32_t node;
    std::uint32_t edge;  // next edge to try
  };
  std::vector<Pending> stack = {{0, edge_begin_[0]}};
  while (!stack.empty()) {
    Pending& top = stack.back();
    if (top.edge == edge_begin_[top.node + 1]) {
      stack.pop_back();
      continue;
    }
    const auto [byte, child] = edges_[top.edge++];
    const std::size_t depth = stack.size();
    if (!at[depth - 1].step(byte, at[depth])) continue;
    for (std::uint32_t i = id_begin_[child]; i < id_begin_[child + 1]; ++i) {
      if (static_cast<std::size_t>(ids_[i]) < allowed.size())
        allowed[static_cast<std::size_t>(ids_[i])] = 1;
    }
    stack.push_back({child, edge_begin_[child]});
  }
}

GrammarConstraint::GrammarConstraint(std::shared_ptr<const JsonGrammar> grammar,
                                     std::shared_ptr<const VocabTrie> trie,
                                     std::vector<TokenId> stop_ids)
    : matcher_(std::move(grammar)), trie_(std::move(trie)), stop_ids_(std::move(stop_ids)) {}

void GrammarConstraint::mask(std::span<float> logits) {
  const bool complete = matcher_.complete();
  std::string key = matcher_.state_key();
  if (auto hit = cache_.find(key); hit != cache_.end() && hit->second.size() == logits.size()) {
    allowed_ = hit->second;
  } else {
    allowed_.assign(logits.size(), 0);
    trie_->allowed(matcher_, allowed_);
    if (cache_.size() >= kMaskCacheSize) cache_.clear();
    cache_[std::move(key)] = allowed_;
  }
  for (TokenId id : stop_ids_) {
    if (id >= 0 && static_cast<std::size_t>(id) < allowed_.size())
      allowed_[static_cast<std::size_t>(id)] = complete ? 1 : 0;
  }
  bool any = false;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    if (allowed_[i]) {
      any = true;
    } else {
      logits[i] = -std::numeric_limits<float>::infinity();
    }
  }
  if (!any) fail_input("constrained decoding: no token of the vocabulary can continue the output");
}

void GrammarConstraint::accept(TokenId token) {
  if (std::find(stop_ids_.begin(), stop_ids_.end(), token) != stop_ids_.end()) return;
  if (!matcher_.advance(trie_->bytes(token))) {
    fail_input("constrained decoding: token {} does not continue the output", token);
  }
}

}  // namespace enclave::serve
