#include "text/bpe_tokenizer.h"

#include <algorithm>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "text/post_processor.h"
#include "text/utf8.h"

namespace enclave {

namespace {
constexpr std::uint64_t kMaxTokenizerJsonBytes = std::uint64_t{1} << 30;
}  // namespace

BpeTokenizer::BpeTokenizer(const nlohmann::json& doc, const std::string& file,
                           const SpecialTokenConfig& specials) {
  const JsonField root(doc, file);
  root.object();
  const JsonField model = root["model"];
  if (model.is_null()) model.fail("missing (every tokenizer.json has a model)");
  model_ = BpeModel::from_json(model);
  added_ = AddedVocabulary::from_json(root["added_tokens"]);
  normalizer_ = Normalizer::from_json(root["normalizer"]);
  pre_tokenizer_ = PreTokenizer::from_json(root["pre_tokenizer"]);
  decoder_ = Decoder::from_json(root["decoder"]);
  const PostProcessor post = parse_post_processor(root["post_processor"]);
  byte_level_ = pre_tokenizer_.is_byte_level() || decoder_.is_byte_level();

  vocab_size_ = model_.id_limit();
  for (const AddedToken& t : added_.tokens())
    vocab_size_ = std::max(vocab_size_, static_cast<std::size_t>(t.id) + 1);
  for (const std::vector<TokenId>* ids : {&post.prefix, &post.suffix}) {
    for (TokenId id : *ids) {
      if (static_cast<std::size_t>(id) >= vocab_size_) {
        root["post_processor"].fail("special token id " + std::to_string(id) +
                                    " is outside the vocabulary");
      }
    }
  }

  bos_id_ = resolve_special(specials.bos_token, post.prefix, "bos_token");
  eos_id_ = resolve_special(specials.eos_token, post.suffix, "eos_token");
  if (specials.add_bos_token) {
    if (*specials.add_bos_token && bos_id_) prefix_ = {*bos_id_};
  } else {
    prefix_ = post.prefix;
  }
  if (specials.add_eos_token) {
    if (*specials.add_eos_token && eos_id_) suffix_ = {*eos_id_};
  } else {
    suffix_ = post.suffix;
  }
  stop_ids_ = default_stop_ids(*this, specials);
}

std::optional<TokenId> BpeTokenizer::resolve_special(const std::optional<std::string>& text,
                                                     const std::vector<TokenId>& from_template,
                                                     std::string_view field) const {
  if (text && !text->empty()) {
    std::optional<TokenId> id = piece_to_id(*text);
    if (!id) {
      fail_input(
          "tokenizer_config.json/special_tokens_map.json: field '{}': '{}' is not in the "
          "vocabulary",
          field, *text);
    }
    return id;
  }
  if (from_template.size() == 1) return from_template[0];
  return std::nullopt;
}

std::vector<TokenId> BpeTokenizer::encode(std::string_view text, bool add_special,
                                          bool parse_special) const {
  const std::string clean = sanitize_utf8(text);
  std::vector<TokenId> ids;
  if (add_special) ids = prefix_;
  for (const AddedVocabulary::Segment& segment : added_.split(clean, parse_special)) {
    if (segment.id) {
      ids.push_back(*segment.id);
      continue;
    }
    const std::string normalized = normalizer_.normalize(segment.text);
    for (const std::string& word : pre_tokenizer_.pre_tokenize(normalized, segment.offset == 0)) {
      model_.encode_word(word, ids);
    }
  }
  if (add_special) ids.insert(ids.end(), suffix_.begin(), suffix_.end());
  return ids;
}

std::string BpeTokenizer::decode(const std::vector<TokenId>& ids, bool skip_special) const {
  std::vector<std::string> pieces;
  pieces.reserve(ids.size());
  for (TokenId id : ids) {
    if (const AddedToken* t = added_.find(id)) {
      if (!(skip_special && t->special)) pieces.push_back(t->content);
    } else if (const std::string* piece = model_.id_to_piece(id)) {
      pieces.push_back(*piece);
    }
  }
  return sanitize_utf8(decoder_.decode(std::move(pieces)));
}

std::string BpeTokenizer::id_to_piece(TokenId id) const {
  if (const AddedToken* t = added_.find(id)) return t->content;
  if (const std::string* piece = model_.id_to_piece(id)) return *piece;
  return {};
}

std::optional<TokenId> BpeTokenizer::piece_to_id(std::string_view piece) const {
  if (const AddedToken* t = added_.find(piece)) return t->id;
  return model_.piece_to_id(piece);
}

bool BpeTokenizer::is_special(TokenId id) const {
  const AddedToken* t = added_.find(id);
  return t != nullptr && t->special;
}

std::unique_ptr<Tokenizer> parse_bpe_tokenizer(std::string_view json_text, const std::string& file,
                                               const SpecialTokenConfig& specials) {
  const nlohmann::json doc = parse_json(json_text, file);
  return std::make_unique<BpeTokenizer>(doc, file, specials);
}

std::unique_ptr<Tokenizer> load_bpe_tokenizer(const std::filesystem::path& tokenizer_json,
                                              const SpecialTokenConfig& specials) {
  return parse_bpe_tokenizer(read_file(tokenizer_json, kMaxTokenizerJsonBytes),
                             tokenizer_json.string(), specials);
}

}  // namespace enclave
