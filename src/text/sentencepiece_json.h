// A SentencePiece BPE vocabulary (pieces with scores and types, as a
// tokenizer.model or a GGUF "llama" vocabulary holds it) as the
// tokenizer.json transformers' LlamaConverter writes for it: the vocabulary
// by id; merges from every split of a piece into two pieces, ordered by the
// merged piece's score (SentencePieceExtractor); a Prepend("▁") (with the
// dummy prefix) and Replace(" ", "▁") normalizer; a Replace, ByteFallback,
// Fuse (and Strip) decoder; byte_fallback; control and unknown pieces as
// special added tokens, user-defined ones as added tokens.
// Thread safety: a pure function.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace enclave {

// SentencePiece's piece types (sentencepiece_model.proto), which GGUF's
// tokenizer.ggml.token_type numbers the same way.
enum class SpPieceType {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6
};

struct SpPiece {
  std::string piece;
  float score = 0;
  SpPieceType type = SpPieceType::kNormal;
};

// Throws Error(kInvalidInput) for a duplicate piece.
nlohmann::ordered_json sentencepiece_bpe_json(const std::vector<SpPiece>& pieces,
                                              bool add_dummy_prefix);

}  // namespace enclave
