// BpeTokenizer: a Hugging Face tokenizer.json whose model is BPE, in both
// layouts the supported families use: byte-level (GPT-2, Llama 3, Qwen2:
// ByteLevel pre-tokenizer/decoder over GPT-2's byte alphabet) and
// SentencePiece-style (Llama 2, Mistral: "▁" for spaces, byte_fallback to
// "<0xNN>" pieces). Encoding runs, per HF: repair invalid UTF-8 (each
// ill-formed subsequence -> U+FFFD), split on added tokens, then for each
// plain segment normalizer -> pre-tokenizer -> BPE, then BOS/EOS.
// Decoding maps ids to pieces (added tokens by content; ids with no piece
// are skipped), runs the decoder, and repairs the result to valid UTF-8.
// Thread safety: immutable after construction; every method is const and
// safe from many threads.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "text/added_tokens.h"
#include "text/bpe.h"
#include "text/decoders.h"
#include "text/normalizers.h"
#include "text/pre_tokenizers.h"
#include "text/special_tokens.h"
#include "text/tokenizer.h"

namespace enclave {

class BpeTokenizer final : public Tokenizer {
 public:
  // Builds from a parsed tokenizer.json document; `file` names it in errors.
  // BOS/EOS: the texts in `specials` (tokenizer_config.json,
  // special_tokens_map.json) name the tokens; whether encode adds them is
  // specials.add_bos_token / add_eos_token when set, else the
  // post-processor template. Throws Error(kInvalidInput) naming the file and
  // field for malformed content or a BOS/EOS text missing from the
  // vocabulary, Error(kUnsupported) for a model type or pipeline step we do
  // not implement.
  BpeTokenizer(const nlohmann::json& doc, const std::string& file,
               const SpecialTokenConfig& specials);

  std::vector<TokenId> encode(std::string_view text, bool add_special = true,
                              bool parse_special = true) const override;
  std::string decode(const std::vector<TokenId>& ids, bool skip_special = true) const override;
  // "" for an id with no piece.
  std::string id_to_piece(TokenId id) const override;
  std::optional<TokenId> piece_to_id(std::string_view piece) const override;
  // One past the largest id of the model vocabulary and the added tokens.
  std::size_t vocab_size() const override { return vocab_size_; }
  bool is_special(TokenId id) const override;
  std::string kind() const override { return byte_level_ ? "bpe-byte-level" : "bpe-sentencepiece"; }

 private:
  std::optional<TokenId> resolve_special(const std::optional<std::string>& text,
                                         const std::vector<TokenId>& from_template,
                                         std::string_view field) const;

  BpeModel model_;
  AddedVocabulary added_;
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  Decoder decoder_;
  std::vector<TokenId> prefix_;  // added by encode(add_special)
  std::vector<TokenId> suffix_;
  std::size_t vocab_size_ = 0;
  bool byte_level_ = false;
};

// Reads and parses a tokenizer.json file (see BpeTokenizer). Throws
// Error(kNotFound) if it is missing.
std::unique_ptr<Tokenizer> load_bpe_tokenizer(const std::filesystem::path& tokenizer_json,
                                              const SpecialTokenConfig& specials);

// Same from JSON text; `file` names it in errors.
std::unique_ptr<Tokenizer> parse_bpe_tokenizer(std::string_view json_text, const std::string& file,
                                               const SpecialTokenConfig& specials);

}  // namespace enclave
