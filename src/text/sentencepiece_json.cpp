#include "text/sentencepiece_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "core/error.h"
#include "core/file.h"
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

// A bounded reader of protobuf's wire format, enough for ModelProto.
class Wire {
 public:
  Wire(std::string_view bytes, const std::filesystem::path& file, std::size_t base = 0)
      : bytes_(bytes), file_(file), base_(base) {}
  bool done() const { return pos_ >= bytes_.size(); }

  std::uint64_t varint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (done()) bad("truncated varint");
      const auto byte = static_cast<std::uint8_t>(bytes_[pos_++]);
      value |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    bad("varint longer than 10 bytes");
  }
  // The field's payload for wire type 2 (length-delimited), as a sub-reader.
  Wire nested() {
    const std::uint64_t n = varint();
    if (n > bytes_.size() - pos_) bad("length past the end");
    Wire w(bytes_.substr(pos_, n), file_, base_ + pos_);
    pos_ += n;
    return w;
  }
  std::string string() {
    Wire w = nested();
    return std::string(w.bytes_);
  }
  float fixed32() {
    if (bytes_.size() - pos_ < 4) bad("truncated fixed32");
    std::uint32_t bits = 0;
    for (int i = 0; i < 4; ++i)
      bits |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes_[pos_ + i])) << (8 * i);
    pos_ += 4;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  void skip(std::uint32_t wire_type) {
    switch (wire_type) {
      case 0:
        varint();
        return;
      case 1:
        if (bytes_.size() - pos_ < 8) bad("truncated fixed64");
        pos_ += 8;
        return;
      case 2:
        nested();
        return;
      case 5:
        fixed32();
        return;
      default:
        bad(fmt::format("wire type {} (groups are not in this schema)", wire_type));
    }
  }
  [[noreturn]] void bad(const std::string& why) const {
    fail_input("{}: not a SentencePiece model: byte {}: {}", file_.string(), base_ + pos_, why);
  }

 private:
  std::string_view bytes_;
  const std::filesystem::path& file_;
  std::size_t base_;
  std::size_t pos_ = 0;
};

SpPiece read_piece(Wire w) {
  SpPiece p;
  while (!w.done()) {
    const std::uint64_t key = w.varint();
    const auto field = key >> 3;
    const auto type = static_cast<std::uint32_t>(key & 7);
    if (field == 1 && type == 2) {
      p.piece = w.string();
    } else if (field == 2 && type == 5) {
      p.score = w.fixed32();
    } else if (field == 3 && type == 0) {
      const std::uint64_t t = w.varint();
      if (t < 1 || t > 6) w.bad(fmt::format("piece type {} is not one SentencePiece defines", t));
      p.type = static_cast<SpPieceType>(t);
    } else {
      w.skip(type);
    }
  }
  return p;
}

// The varint field `wanted` of a nested message, or fallback.
std::uint64_t varint_field(Wire w, std::uint64_t wanted, std::uint64_t fallback) {
  std::uint64_t value = fallback;
  while (!w.done()) {
    const std::uint64_t key = w.varint();
    if ((key >> 3) == wanted && (key & 7) == 0) {
      value = w.varint();
    } else {
      w.skip(static_cast<std::uint32_t>(key & 7));
    }
  }
  return value;
}

}  // namespace

SpModel read_sentencepiece_model(const std::filesystem::path& file) {
  const std::string bytes = read_file(file, std::uint64_t{1} << 30);
  Wire w(bytes, file);
  SpModel m;
  while (!w.done()) {
    const std::uint64_t key = w.varint();
    const auto field = key >> 3;
    const auto type = static_cast<std::uint32_t>(key & 7);
    if (field == 1 && type == 2) {
      m.pieces.push_back(read_piece(w.nested()));
    } else if (field == 2 && type == 2) {  // TrainerSpec
      m.model_type = static_cast<int>(varint_field(w.nested(), 3, 1));
    } else if (field == 3 && type == 2) {  // NormalizerSpec
      m.add_dummy_prefix = varint_field(w.nested(), 3, 1) != 0;
    } else {
      w.skip(type);
    }
  }
  if (m.pieces.empty()) w.bad("no pieces");
  return m;
}

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
                       {"normalized", false},
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
