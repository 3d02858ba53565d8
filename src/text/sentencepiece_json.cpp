#include "text/sentencepiece_json.h"

#include <algorithm>
#include <unordered_map>

#include "core/error.h"
#include "text/utf8.h"

namespace enclave {
namespace {

using nlohmann::ordered_json;
constexpr const char* kSpace = "\xE2\x96\x81";  // ▁

struct Merge {
  std::string left_text, right_text;
  float score;
};

// transformers' SentencePieceExtractor.extract with scores: for each piece
// (in id order) its splits into two pieces, ordered by their ids, then all
// of them stably by the merged piece's score, highest first.
ordered_json extract_merges(const std::vector<SpPiece>& pieces,
                            const std::unordered_map<std::string, std::size_t>& ids) {
  std::vector<Merge> merges;
  for (const SpPiece& p : pieces) {
    std::vector<Merge> local;
    std::size_t pos = 0;
    next_code_point(p.piece, pos);  // a cut after at least one character
    while (pos < p.piece.size()) {
      std::string left = p.piece.substr(0, pos), right = p.piece.substr(pos);
      if (ids.count(left) != 0 && ids.count(right) != 0)
        local.push_back({std::move(left), std::move(right), p.score});
      next_code_point(p.piece, pos);
    }
    std::sort(local.begin(), local.end(), [&](const Merge& a, const Merge& b) {
      return std::pair(ids.at(a.left_text), ids.at(a.right_text)) <
             std::pair(ids.at(b.left_text), ids.at(b.right_text));
    });
    for (Merge& m : local) merges.push_back(std::move(m));
  }
  std::stable_sort(merges.begin(), merges.end(),
                   [](const Merge& a, const Merge& b) { return a.score > b.score; });
  ordered_json out = ordered_json::array();
  for (const Merge& m : merges) out.push_back(ordered_json::array({m.left_text, m.right_text}));
  return out;
}

ordered_json replace(const std::string& from, const std::string& to) {
  return {{"type", "Replace"}, {"pattern", {{"String", from}}}, {"content", to}};
}

}  // namespace

ordered_json sentencepiece_bpe_json(const std::vector<SpPiece>& pieces, bool add_dummy_prefix) {
  std::unordered_map<std::string, std::size_t> ids;
  ordered_json vocab = ordered_json::object();
  ordered_json added = ordered_json::array();
  std::string unk;
  for (std::size_t id = 0; id < pieces.size(); ++id) {
    const SpPiece& p = pieces[id];
    if (!ids.emplace(p.piece, id).second)
      fail_input("vocabulary: piece '{}' appears twice (ids {} and {})", p.piece, ids[p.piece], id);
    vocab[p.piece] = id;
    if (p.type == SpPieceType::kUnknown && unk.empty()) unk = p.piece;
    const bool special = p.type == SpPieceType::kControl || p.type == SpPieceType::kUnknown;
    if (special || p.type == SpPieceType::kUserDefined) {
      added.push_back({{"id", id},
                       {"content", p.piece},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", !special},
                       {"special", special}});
    }
  }
  ordered_json normalizers = ordered_json::array();
  if (add_dummy_prefix) normalizers.push_back({{"type", "Prepend"}, {"prepend", kSpace}});
  normalizers.push_back(replace(" ", kSpace));
  ordered_json decoders =
      ordered_json::array({replace(kSpace, " "), {{"type", "ByteFallback"}}, {{"type", "Fuse"}}});
  if (add_dummy_prefix)
    decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer", {{"type", "Sequence"}, {"normalizers", normalizers}}},
          {"pre_tokenizer", nullptr},
          {"post_processor", nullptr},
          {"decoder", {{"type", "Sequence"}, {"decoders", decoders}}},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", unk.empty() ? ordered_json() : ordered_json(unk)},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", true},
            {"byte_fallback", true},
            {"ignore_merges", false},
            {"vocab", vocab},
            {"merges", extract_merges(pieces, ids)}}}};
}

}  // namespace enclave
