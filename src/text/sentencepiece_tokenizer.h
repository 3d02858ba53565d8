// Tokenizer backed by a SentencePiece `tokenizer.model` (libsentencepiece),
// for model directories that ship no tokenizer.json.
// Thread safety: encode/decode are const and safe from many threads.
#pragma once

#include <filesystem>
#include <memory>

#include "text/special_tokens.h"
#include "text/tokenizer.h"

namespace enclave {

// Loads model_file. The returned tokenizer (kind() "sentencepiece"):
// - BOS/EOS: the model's <s>/</s> ids unless `specials` names other tokens;
//   encode(add_special) adds BOS and not EOS (Llama 2) unless
//   specials.add_bos_token / add_eos_token say otherwise.
// - stop_ids: EOS, specials.generation_eos_ids, and the chat template's
//   turn-end token (<|eot_id|>, <|im_end|>) when the model has it.
// - Special tokens are the control symbols and <unk>. With parse_special,
//   encode splits the text on their pieces (longest first) and maps them to
//   their ids; every other segment gets SentencePiece's own normalisation and
//   dummy prefix. User-defined symbols are always matched by SentencePiece.
// - decode keeps special pieces as text unless skip_special, restoring the
//   space SentencePiece drops after them, as LlamaTokenizerFast does.
// - Invalid UTF-8 input is replaced (U+FFFD per maximal invalid subpart)
//   before encoding; decoded text is always valid UTF-8.
// Throws Error(kNotFound) if the file is missing, Error(kInvalidInput) naming
// the file when it is not a valid SentencePiece model or when a token named in
// `specials` is not one of its pieces, or a generation eos id is outside it.
// decode and id_to_piece throw Error(kInvalidInput) for ids outside the vocabulary.
std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const std::filesystem::path& model_file,
                                                        const SpecialTokenConfig& specials);

}  // namespace enclave
