// Tokenizer: text <-> token ids, loaded from a Hugging Face model directory.
// Implementations: tokenizer.json BPE (byte-level as in GPT-2 / Llama 3 /
// Qwen2, and SentencePiece-style with byte fallback as in Llama 2 / Mistral)
// and SentencePiece `tokenizer.model`. Added and special tokens are matched
// before the model runs, as Hugging Face `tokenizers` does.
// Thread safety: encode/decode are const and safe from many threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace enclave {

using TokenId = std::int32_t;
struct SpecialTokenConfig;  // text/special_tokens.h

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Encodes text. With add_special, prepends BOS (and appends EOS) the way the
  // model's tokenizer_config.json / post-processor asks (Llama 2 adds BOS,
  // Llama 3 adds <|begin_of_text|>, Qwen2 adds nothing). Special-token text
  // in the input ("<|im_start|>") maps to its id when parse_special is true.
  virtual std::vector<TokenId> encode(std::string_view text, bool add_special = true,
                                      bool parse_special = true) const = 0;

  // Decodes ids to UTF-8 text. Special tokens are dropped when skip_special.
  // Invalid UTF-8 produced by byte tokens becomes U+FFFD, as HF does.
  virtual std::string decode(const std::vector<TokenId>& ids, bool skip_special = true) const = 0;

  // The token's string in the vocabulary (e.g. "Ġthe", "▁the", "<0x0A>").
  virtual std::string id_to_piece(TokenId id) const = 0;
  // nullopt if the piece is not in the vocabulary.
  virtual std::optional<TokenId> piece_to_id(std::string_view piece) const = 0;

  virtual std::size_t vocab_size() const = 0;
  virtual bool is_special(TokenId id) const = 0;
  std::optional<TokenId> bos_id() const { return bos_id_; }
  std::optional<TokenId> eos_id() const { return eos_id_; }
  // All ids that end generation (eos plus e.g. <|eot_id|>, <|im_end|>).
  const std::vector<TokenId>& stop_ids() const { return stop_ids_; }
  // "bpe-byte-level", "bpe-sentencepiece", "sentencepiece".
  virtual std::string kind() const = 0;

 protected:
  std::optional<TokenId> bos_id_;
  std::optional<TokenId> eos_id_;
  std::vector<TokenId> stop_ids_;
};

// Loads the tokenizer of a model directory: tokenizer.json if present, else
// tokenizer.model; bos/eos from tokenizer_config.json, special_tokens_map.json
// and generation_config.json. Throws Error(kNotFound) if the directory has no
// tokenizer, Error(kInvalidInput) naming the file and field if it is malformed,
// Error(kUnsupported) for tokenizer models other than BPE.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& model_dir);

// The ids that end generation for a tokenizer with these settings: its EOS,
// generation_config.json's eos_token_id(s), and the chat template's
// turn-end tokens the template writes ("<|eot_id|>", "<|im_end|>",
// "<end_of_turn>", "[|endofturn|]", "<|end|>") when in the vocabulary. No duplicates, in that
// order. Throws Error(kInvalidInput) for a generation_config id outside the vocabulary.
std::vector<TokenId> default_stop_ids(const Tokenizer& tokenizer,
                                      const SpecialTokenConfig& specials);

// Incremental decoder for streaming: feed ids one at a time, get the text that
// is complete so far (holds back bytes of an unfinished UTF-8 character and a
// pending SentencePiece leading space as needed).
// It decodes a short window of recent ids twice, with and without the ids not
// yet emitted, and emits the difference (as text-generation-inference does),
// so the cost per id stays constant and decoders that treat the first piece
// specially (Strip, Metaspace) see the same first piece both times. Text
// ending in U+FFFD is held back until later ids complete the character.
// Concatenating everything push() and flush() return gives decode(ids) with
// skip_special=true, except where a SentencePiece byte-fallback run turns
// invalid after part of it was emitted (flush then emits one U+FFFD).
// Thread safety: one StreamDecoder per stream; the tokenizer must outlive it.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}
  // Returns newly completed text (may be empty).
  std::string push(TokenId id);
  // Returns whatever is left (with U+FFFD for an incomplete character).
  std::string flush();

 private:
  std::string advance(bool final);

  const Tokenizer& tokenizer_;
  std::vector<TokenId> ids_;
  std::size_t prefix_offset_ = 0;  // window start: ids before it are settled
  std::size_t read_offset_ = 0;    // ids_[prefix_offset_, read_offset_) are fully emitted
  std::size_t emitted_bytes_ = 0;  // bytes emitted beyond the text of those ids
};

}  // namespace enclave
