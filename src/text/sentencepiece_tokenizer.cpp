// Tokenizer over libsentencepiece. SentencePiece itself never matches control
// symbols (<s>, </s>) in text and always matches user-defined symbols, so the
// only special handling left to us is: split on control/unknown pieces when
// parse_special, add BOS/EOS, and decode specials the way Hugging Face's
// LlamaTokenizerFast does (kept as text, or dropped with skip_special).
#include "text/sentencepiece_tokenizer.h"

#include <algorithm>
#include <array>

#include "core/error.h"
#include "core/file.h"
#include "text/spm_processor.h"
#include "text/utf8.h"

namespace enclave {

namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // U+2581 "▁"
constexpr std::uint64_t kMaxModelBytes = std::uint64_t{1} << 30;

class SentencePieceTokenizer final : public Tokenizer {
 public:
  SentencePieceTokenizer(const std::filesystem::path& model_file,
                         const SpecialTokenConfig& specials)
      : what_(model_file.string()) {
    std::string bytes = read_file(model_file, kMaxModelBytes);
    processor_ = load_spm_processor(bytes, what_);
    if (processor_->piece_size() <= 0) fail_input("{}: SentencePiece model has no pieces", what_);
    n_vocab_ = processor_->piece_size();

    bos_id_ = resolve_token(specials.bos_token, processor_->bos_id(), "bos_token");
    eos_id_ = resolve_token(specials.eos_token, processor_->eos_id(), "eos_token");
    add_bos_ = specials.add_bos_token.value_or(true);
    add_eos_ = specials.add_eos_token.value_or(false);

    for (TokenId id = 0; id < n_vocab_; ++id) {
      if (!is_special(id)) continue;
      const std::string piece = processor_->id_to_piece(id);
      if (piece.empty()) continue;
      special_pieces_.emplace_back(piece, id);
      special_first_byte_[static_cast<unsigned char>(piece[0])] = true;
    }
    // Longest first, so "<|im_end|>" wins over a shorter prefix.
    std::stable_sort(special_pieces_.begin(), special_pieces_.end(),
                     [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });

    strips_leading_space_ = decoder_strips_leading_space();
    stop_ids_ = default_stop_ids(*this, specials);
  }

  std::vector<TokenId> encode(std::string_view text, bool add_special,
                              bool parse_special) const override {
    std::string clean = sanitize_utf8(text);
    std::vector<TokenId> ids;
    if (add_special && add_bos_ && bos_id_) ids.push_back(*bos_id_);
    std::string_view rest = clean;
    std::size_t plain_begin = 0;
    std::size_t pos = 0;
    while (parse_special && pos < rest.size()) {
      if (!special_first_byte_[static_cast<unsigned char>(rest[pos])]) {
        ++pos;
        continue;
      }
      const std::pair<std::string, TokenId>* match = nullptr;
      for (const auto& entry : special_pieces_) {
        if (rest.substr(pos, entry.first.size()) == entry.first) {
          match = &entry;
          break;
        }
      }
      if (match == nullptr) {
        ++pos;
        continue;
      }
      encode_plain(rest.substr(plain_begin, pos - plain_begin), ids);
      ids.push_back(match->second);
      pos += match->first.size();
      plain_begin = pos;
    }
    encode_plain(rest.substr(plain_begin), ids);
    if (add_special && add_eos_ && eos_id_) ids.push_back(*eos_id_);
    return ids;
  }

  std::string decode(const std::vector<TokenId>& ids, bool skip_special) const override {
    std::string out;
    std::vector<int> run;
    bool at_start = true;  // nothing decoded yet: SentencePiece may drop a "▁"
    for (TokenId id : ids) {
      check_id(id);
      if (!is_special(id)) {
        run.push_back(id);
        continue;
      }
      flush_run(run, at_start, out);
      if (!skip_special) {
        out += processor_->id_to_piece(id);
        at_start = false;
      }
    }
    flush_run(run, at_start, out);
    return sanitize_utf8(out);
  }

  std::string id_to_piece(TokenId id) const override {
    check_id(id);
    return processor_->id_to_piece(id);
  }

  std::optional<TokenId> piece_to_id(std::string_view piece) const override {
    int id = processor_->piece_to_id(std::string(piece));
    if (id < 0 || id >= n_vocab_ || processor_->id_to_piece(id) != piece) return std::nullopt;
    return id;
  }

  std::size_t vocab_size() const override { return static_cast<std::size_t>(n_vocab_); }

  // Control symbols and <unk>: the tokens Hugging Face lists as special for
  // SentencePiece models.
  bool is_special(TokenId id) const override {
    if (id < 0 || id >= n_vocab_) return false;
    return processor_->is_control(id) || processor_->is_unknown(id);
  }

  std::string kind() const override { return "sentencepiece"; }

 private:
  std::optional<TokenId> resolve_token(const std::optional<std::string>& text, int model_id,
                                       std::string_view field) const {
    if (text) {
      std::optional<TokenId> id = piece_to_id(*text);
      if (!id) {
        fail_input(
            "{}: {} '{}' from tokenizer_config.json/special_tokens_map.json is not a "
            "piece of the model",
            what_, field, *text);
      }
      return id;
    }
    if (model_id < 0 || model_id >= n_vocab_) return std::nullopt;
    return model_id;
  }

  void encode_plain(std::string_view text, std::vector<TokenId>& ids) const {
    if (text.empty()) return;
    std::vector<int> piece_ids;
    std::string error;
    if (!processor_->encode(std::string(text), &piece_ids, &error)) {
      fail_input("{}: SentencePiece encode failed: {}", what_, error);
    }
    ids.insert(ids.end(), piece_ids.begin(), piece_ids.end());
  }

  // SentencePiece drops the "▁" of the first piece of its output (when the
  // model adds a dummy prefix); a run that does not start the text gets that
  // space back, as the tokenizers decoder (Replace, ByteFallback, Fuse,
  // Strip start 1) only strips the very first piece.
  void flush_run(std::vector<int>& run, bool& at_start, std::string& out) const {
    if (run.empty()) return;
    std::string text;
    std::string error;
    if (!processor_->decode(run, &text, &error))
      fail_input("{}: SentencePiece decode failed: {}", what_, error);
    if (!at_start && strips_leading_space_ &&
        processor_->id_to_piece(run.front()).starts_with(kSpaceSymbol)) {
      out += ' ';
    }
    out += text;
    at_start = false;
    run.clear();
  }

  // Whether Decode drops the "▁" of a first piece: true when the model adds
  // a dummy prefix or removes extra whitespace (normalizer settings that the
  // public API does not expose, so we ask the decoder).
  bool decoder_strips_leading_space() const {
    for (int id = 0; id < n_vocab_; ++id) {
      if (is_special(id) || processor_->is_byte(id) || processor_->is_unused(id)) continue;
      if (!processor_->id_to_piece(id).starts_with(kSpaceSymbol)) continue;
      std::string text;
      std::string error;
      if (!processor_->decode(std::vector<int>{id}, &text, &error)) return false;
      return !text.starts_with(' ');
    }
    return false;
  }

  void check_id(TokenId id) const {
    if (id < 0 || id >= n_vocab_) {
      fail_input("{}: token id {} is outside the vocabulary ({} pieces)", what_, id, n_vocab_);
    }
  }

  std::string what_;
  std::unique_ptr<SpmProcessor> processor_;
  int n_vocab_ = 0;
  bool add_bos_ = true;
  bool add_eos_ = false;
  bool strips_leading_space_ = false;
  std::vector<std::pair<std::string, TokenId>> special_pieces_;
  std::array<bool, 256> special_first_byte_{};  // quick reject while scanning text
};

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const std::filesystem::path& model_file,
                                                        const SpecialTokenConfig& specials) {
  return std::make_unique<SentencePieceTokenizer>(model_file, specials);
}

}  // namespace enclave
