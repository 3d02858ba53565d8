#include "text/added_tokens.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"
#include "text/unicode_class.h"
#include "text/utf8.h"

namespace enclave {

namespace {

// The code point that ends at byte `end` (text valid UTF-8, end > 0).
char32_t code_point_before(std::string_view text, std::size_t end) {
  std::size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  return next_code_point(text, start);
}

}  // namespace

AddedVocabulary AddedVocabulary::from_json(const JsonField& list) {
  AddedVocabulary v;
  if (list.is_null()) return v;
  const std::size_t n = list.array().size();
  for (std::size_t i = 0; i < n; ++i) {
    const JsonField e = list[i];
    e.object();
    AddedToken t;
    const std::int64_t id = e["id"].integer();
    if (id < 0 || id > kMaxTokenId)
      e["id"].fail(fmt::format("id {} outside [0, {}]", id, kMaxTokenId));
    t.id = static_cast<TokenId>(id);
    t.content = e["content"].string();
    if (t.content.empty()) e["content"].fail("empty token");
    if (!is_valid_utf8(t.content)) e["content"].fail("not valid UTF-8");
    t.special = e["special"].boolean_or(false);
    t.single_word = e["single_word"].boolean_or(false);
    t.lstrip = e["lstrip"].boolean_or(false);
    t.rstrip = e["rstrip"].boolean_or(false);
    t.normalized = e["normalized"].boolean_or(!t.special);
    if (v.by_id_.count(t.id) != 0) e["id"].fail(fmt::format("id {} appears twice", id));
    if (v.by_content_.count(t.content) != 0) e["content"].fail("'" + t.content + "' appears twice");
    v.by_id_.emplace(t.id, v.tokens_.size());
    v.by_content_.emplace(t.content, static_cast<TokenId>(v.tokens_.size()));
    v.by_first_byte_[static_cast<unsigned char>(t.content[0])].push_back(v.tokens_.size());
    v.tokens_.push_back(std::move(t));
  }
  for (std::vector<std::size_t>& bucket : v.by_first_byte_) {
    std::stable_sort(bucket.begin(), bucket.end(), [&v](std::size_t a, std::size_t b) {
      return v.tokens_[a].content.size() > v.tokens_[b].content.size();
    });
  }
  return v;
}

const AddedToken* AddedVocabulary::find(TokenId id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::find(std::string_view content) const {
  auto it = by_content_.find(content);
  return it == by_content_.end() ? nullptr : &tokens_[static_cast<std::size_t>(it->second)];
}

std::vector<AddedVocabulary::Segment> AddedVocabulary::split(std::string_view text,
                                                             bool parse_special) const {
  std::vector<Segment> out;
  std::size_t text_start = 0;  // start of the pending plain-text segment
  auto emit_text = [&](std::size_t end) {
    if (end > text_start)
      out.push_back({text.substr(text_start, end - text_start), text_start, std::nullopt});
  };
  for (std::size_t pos = 0; pos < text.size();) {
    const AddedToken* hit = nullptr;
    for (std::size_t index : by_first_byte_[static_cast<unsigned char>(text[pos])]) {
      const AddedToken& t = tokens_[index];
      if (t.special && !parse_special) continue;
      if (text.compare(pos, t.content.size(), t.content) == 0) {
        hit = &t;
        break;
      }
    }
    if (hit == nullptr) {
      ++pos;
      continue;
    }
    std::size_t start = pos;
    std::size_t end = pos + hit->content.size();
    if (hit->single_word) {
      const bool word_before = start > 0 && is_word_char(code_point_before(text, start));
      std::size_t after = end;
      const bool word_after = end < text.size() && is_word_char(next_code_point(text, after));
      if (word_before || word_after) {
        pos = end;  // the match is discarded; the search resumes after it, as HF's
        continue;
      }
    }
    if (hit->lstrip) {
      while (start > text_start && is_white_space(code_point_before(text, start))) {
        std::size_t s = start - 1;
        while (s > 0 && (static_cast<unsigned char>(text[s]) & 0xC0) == 0x80) --s;
        start = s;
      }
    }
    if (hit->rstrip) {
      while (end < text.size()) {
        std::size_t next = end;
        if (!is_white_space(next_code_point(text, next))) break;
        end = next;
      }
    }
    emit_text(start);
    out.push_back({text.substr(start, end - start), start, hit->id});
    text_start = end;
    pos = end;
  }
  emit_text(text.size());
  return out;
}

}  // namespace enclave
