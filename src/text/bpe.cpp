#include "text/bpe.h"

#include <fmt/format.h>

#include <queue>

#include "core/error.h"
#include "text/utf8.h"

namespace enclave {

BpeModel BpeModel::from_json(const JsonField& model, std::size_t cache_capacity) {
  model.object();
  const JsonField type = model["type"];
  // Files written by old tokenizers versions omit "type" for BPE.
  if (!type.is_null() && type.string() != "BPE") {
    type.fail_unsupported("tokenizer model '" + type.string() + "' is not supported (only BPE)");
  }
  if (type.is_null() && !model.has("merges"))
    type.fail("missing (and no 'merges', so not a BPE model)");
  const JsonField dropout = model["dropout"];
  if (!dropout.is_null() &&
      !(dropout.value().is_number() && dropout.value().get<double>() == 0.0)) {
    dropout.fail_unsupported("BPE dropout is a training option; expected null");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (!model[key].string_or("").empty())
      model[key].fail_unsupported("subword prefixes/suffixes are not supported");
  }

  BpeModel m;
  m.cache_ = std::make_shared<BpeWordCache>(cache_capacity);
  m.fuse_unk_ = model["fuse_unk"].boolean_or(false);
  m.byte_fallback_ = model["byte_fallback"].boolean_or(false);
  m.ignore_merges_ = model["ignore_merges"].boolean_or(false);
  m.read_vocab(model["vocab"]);
  m.read_merges(model["merges"]);
  if (std::optional<std::string> unk = model["unk_token"].optional_string()) {
    m.unk_id_ = m.piece_to_id(*unk);
    if (!m.unk_id_) model["unk_token"].fail("'" + *unk + "' is not in the vocabulary");
  }
  m.char_ids_.assign(kCharIds, -1);
  for (const auto& [piece, id] : m.vocab_) {
    std::size_t pos = 0;
    const char32_t c = piece.empty() ? kCharIds : next_code_point(piece, pos);
    if (c < kCharIds && pos == piece.size()) {
      std::string canonical;
      append_utf8(canonical, c);  // not an overlong or invalid form of c
      if (canonical == piece) m.char_ids_[c] = id;
    }
  }
  m.byte_ids_.fill(-1);
  for (int b = 0; b < 256; ++b) {
    if (std::optional<TokenId> id = m.piece_to_id(fmt::format("<0x{:02X}>", b)))
      m.byte_ids_[b] = *id;
  }
  return m;
}

void BpeModel::read_vocab(const JsonField& vocab) {
  const nlohmann::json& obj = vocab.object();
  vocab_.reserve(obj.size());
  // A published vocabulary has 100k-260k entries: the field (and its path)
  // is made only for an error.
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const nlohmann::json& value = it.value();
    if (!value.is_number_integer()) vocab[it.key()].integer();  // throws, naming the field
    const std::int64_t id = value.get<std::int64_t>();
    if (id < 0 || id > kMaxTokenId)
      vocab[it.key()].fail(fmt::format("id {} outside [0, {}]", id, kMaxTokenId));
    const auto uid = static_cast<std::size_t>(id);
    if (uid >= pieces_.size()) {
      pieces_.resize(std::max(uid + 1, obj.size()));
      has_piece_.resize(pieces_.size(), false);
    }
    if (has_piece_[uid])
      vocab[it.key()].fail(fmt::format("id {} is also used by '{}'", id, pieces_[uid]));
    pieces_[uid] = it.key();
    has_piece_[uid] = true;
    vocab_.emplace(it.key(), static_cast<TokenId>(id));
  }
  // Ids past the largest one in use are not pieces.
  std::size_t end = pieces_.size();
  while (end > 0 && !has_piece_[end - 1]) --end;
  pieces_.resize(end);
  has_piece_.resize(end);
}

void BpeModel::read_merges(const JsonField& merges) {
  if (merges.is_null()) return;  // a BPE model may have no merges at all
  const nlohmann::json& list = merges.array();
  merges_.reserve(list.size());
  std::string joined;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const nlohmann::json& value = list[i];
    std::string_view left;
    std::string_view right;
    if (value.is_string()) {
      // "a b": exactly one space, as HF requires.
      const std::string& line = value.get_ref<const std::string&>();
      const std::size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
        merges[i].fail("expected \"left right\" with one space, got '" + line + "'");
      }
      left = std::string_view(line).substr(0, space);
      right = std::string_view(line).substr(space + 1);
    } else if (value.is_array()) {
      if (value.size() != 2) merges[i].fail("expected a pair [left, right]");
      if (!value[0].is_string()) merges[i][0].string();  // throws, naming the field
      if (!value[1].is_string()) merges[i][1].string();
      left = value[0].get_ref<const std::string&>();
      right = value[1].get_ref<const std::string&>();
    } else {
      merges[i].fail("expected a string \"left right\" or a pair [left, right], got " +
                     std::string(value.type_name()));
    }
    const std::optional<TokenId> a = piece_to_id(left);
    if (!a) merges[i].fail("piece '" + std::string(left) + "' is not in the vocabulary");
    const std::optional<TokenId> b = piece_to_id(right);
    if (!b) merges[i].fail("piece '" + std::string(right) + "' is not in the vocabulary");
    joined.assign(left);
    joined.append(right);
    const std::optional<TokenId> result = piece_to_id(joined);
    if (!result) merges[i].fail("merged piece '" + joined + "' is not in the vocabulary");
    // A repeated pair keeps the later rank, as HF's map insertion does.
    merges_[pair_key(*a, *b)] = Merge{static_cast<std::uint32_t>(i), *result};
  }
}

std::optional<TokenId> BpeModel::piece_to_id(std::string_view piece) const {
  auto it = vocab_.find(piece);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_piece(TokenId id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= pieces_.size() ||
      !has_piece_[static_cast<std::size_t>(id)]) {
    return nullptr;
  }
  return &pieces_[static_cast<std::size_t>(id)];
}

const BpeModel::Merge* BpeModel::find_merge(TokenId a, TokenId b) const {
  auto it = merges_.find(pair_key(a, b));
  return it == merges_.end() ? nullptr : &it->second;
}

void BpeModel::encode_word(std::string_view word, std::vector<TokenId>& out) const {
  if (word.empty() || cache_->find(word, out)) return;
  const std::size_t start = out.size();
  merge_word(word, out);
  cache_->insert(word, std::span<const TokenId>(out).subspan(start));
}

void BpeModel::merge_word(std::string_view word, std::vector<TokenId>& out) const {
  if (ignore_merges_) {
    if (std::optional<TokenId> id = piece_to_id(word)) {
      out.push_back(*id);
      return;
    }
  }

  // Symbols form a doubly linked list over a vector; a merged-away symbol
  // has alive == false.
  struct Symbol {
    TokenId id;
    int prev;
    int next;
    bool alive;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  auto add = [&symbols](TokenId id) {
    const int index = static_cast<int>(symbols.size());
    symbols.push_back({id, index - 1, index + 1, true});
  };
  bool pending_unk = false;
  for (std::size_t pos = 0; pos < word.size();) {
    const std::size_t start = pos;
    const char32_t c = next_code_point(word, pos);
    const std::string_view ch = word.substr(start, pos - start);
    // The table holds shortest forms only: an overlong byte sequence is looked up as it is.
    const bool in_table = c < kCharIds && ch.size() == (c < 0x80 ? 1u : 2u) && char_ids_[c] >= 0;
    const std::optional<TokenId> id =
        in_table ? std::optional<TokenId>(char_ids_[c]) : piece_to_id(ch);
    if (id) {
      if (pending_unk) add(*unk_id_);
      pending_unk = false;
      add(*id);
      continue;
    }
    if (byte_fallback_) {
      bool all_bytes = true;
      for (char c : ch) all_bytes = all_bytes && byte_ids_[static_cast<unsigned char>(c)] >= 0;
      if (all_bytes) {
        if (pending_unk) add(*unk_id_);
        pending_unk = false;
        for (char c : ch) add(byte_ids_[static_cast<unsigned char>(c)]);
        continue;
      }
    }
    if (unk_id_) {
      if (pending_unk && !fuse_unk_) add(*unk_id_);
      pending_unk = true;
    }
  }
  if (pending_unk) add(*unk_id_);
  if (symbols.empty()) return;
  symbols.back().next = -1;

  struct Candidate {
    std::uint32_t rank;
    int pos;
    TokenId result;
    bool operator<(const Candidate& o) const {  // priority_queue pops the "largest"
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate> queue;
  for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (const Merge* m = find_merge(symbols[i].id, symbols[i + 1].id)) {
      queue.push({m->rank, static_cast<int>(i), m->result});
    }
  }
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[static_cast<std::size_t>(top.pos)];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[static_cast<std::size_t>(left.next)];
    // Skip stale entries: the pair at this position changed since it was queued.
    const Merge* m = find_merge(left.id, right.id);
    if (m == nullptr || m->result != top.result) continue;
    left.id = top.result;
    right.alive = false;
    left.next = right.next;
    if (left.next >= 0) symbols[static_cast<std::size_t>(left.next)].prev = top.pos;
    if (left.prev >= 0) {
      const Symbol& before = symbols[static_cast<std::size_t>(left.prev)];
      if (const Merge* pm = find_merge(before.id, left.id))
        queue.push({pm->rank, left.prev, pm->result});
    }
    if (left.next >= 0) {
      const Symbol& after = symbols[static_cast<std::size_t>(left.next)];
      if (const Merge* nm = find_merge(left.id, after.id))
        queue.push({nm->rank, top.pos, nm->result});
    }
  }
  for (const Symbol& s : symbols) {
    if (s.alive) out.push_back(s.id);
  }
}

}  // namespace enclave
