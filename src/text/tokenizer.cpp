// load_tokenizer (which file a model directory's tokenizer comes from), the
// stop ids every tokenizer kind shares, and StreamDecoder.
#include "text/tokenizer.h"

#include <algorithm>

#include "core/error.h"
#include "text/bpe_tokenizer.h"
#include "text/sentencepiece_tokenizer.h"
#include "text/special_tokens.h"
#include "text/utf8.h"

namespace enclave {

std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& model_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(model_dir, ec)) {
    fail(ErrorKind::kNotFound, "{}: model directory not found", model_dir.string());
  }
  const std::filesystem::path json_file = model_dir / "tokenizer.json";
  const std::filesystem::path sp_file = model_dir / "tokenizer.model";
  const bool has_json = std::filesystem::exists(json_file, ec);
  const bool has_sp = !has_json && std::filesystem::exists(sp_file, ec);
  if (!has_json && !has_sp) {
    fail(ErrorKind::kNotFound, "{}: no tokenizer.json or tokenizer.model", model_dir.string());
  }
  const SpecialTokenConfig specials = read_special_token_config(model_dir);
  if (has_json) return load_bpe_tokenizer(json_file, specials);
  return load_sentencepiece_tokenizer(sp_file, specials);
}

std::vector<TokenId> default_stop_ids(const Tokenizer& tokenizer,
                                      const SpecialTokenConfig& specials) {
  std::vector<TokenId> ids;
  auto add = [&ids](TokenId id) {
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  };
  if (tokenizer.eos_id()) add(*tokenizer.eos_id());
  for (std::int64_t id : specials.generation_eos_ids) {
    if (id < 0 || static_cast<std::uint64_t>(id) >= tokenizer.vocab_size()) {
      fail_input(
          "generation_config.json: field 'eos_token_id': id {} is outside the tokenizer's {} ids",
          id, tokenizer.vocab_size());
    }
    add(static_cast<TokenId>(id));
  }
  if (specials.chat_template) {
    for (std::string_view turn_end :
         {"<|eot_id|>", "<|im_end|>", "<end_of_turn>", "[|endofturn|]", "<|end|>"}) {
      if (specials.chat_template->find(turn_end) == std::string::npos) continue;
      if (std::optional<TokenId> id = tokenizer.piece_to_id(turn_end)) add(*id);
    }
  }
  return ids;
}

std::string StreamDecoder::push(TokenId id) {
  ids_.push_back(id);
  return advance(/*final=*/false);
}

std::string StreamDecoder::flush() {
  std::string out = advance(/*final=*/true);
  prefix_offset_ = read_offset_ = ids_.size();
  emitted_bytes_ = 0;
  return out;
}

std::string StreamDecoder::advance(bool final) {
  auto decode_range = [this](std::size_t first, std::size_t last) {
    return tokenizer_.decode(std::vector<TokenId>(ids_.begin() + static_cast<std::ptrdiff_t>(first),
                                                  ids_.begin() + static_cast<std::ptrdiff_t>(last)),
                             /*skip_special=*/true);
  };
  std::string prefix = decode_range(prefix_offset_, read_offset_);
  std::string full = decode_range(prefix_offset_, ids_.size());
  if (full.compare(0, prefix.size(), prefix) != 0 || full.size() < prefix.size() + emitted_bytes_) {
    // The new ids changed text already emitted (a SentencePiece byte-fallback
    // run that turned invalid): keep what was emitted, decode the rest alone.
    prefix_offset_ = read_offset_;
    prefix.clear();
    full = decode_range(read_offset_, ids_.size());
    emitted_bytes_ = std::min(emitted_bytes_, full.size());
  }
  const std::size_t start = prefix.size() + emitted_bytes_;
  std::size_t end = full.size();
  // A trailing U+FFFD may be a character whose remaining bytes are still to come.
  if (!final) end = std::max(start, end - std::min(end, trailing_replacement_bytes(full)));
  std::string out = full.substr(start, end - start);
  if (end == full.size()) {
    // Settle the ids just emitted. The window keeps starting at an earlier id
    // if they decode to nothing on their own (skipped special tokens), so that
    // decoders that strip the first piece's space never strip a later one.
    if (!decode_range(read_offset_, ids_.size()).empty()) prefix_offset_ = read_offset_;
    read_offset_ = ids_.size();
    emitted_bytes_ = 0;
  } else {
    emitted_bytes_ += out.size();
  }
  return out;
}

}  // namespace enclave
