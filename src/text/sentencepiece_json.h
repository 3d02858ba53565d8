// A SentencePiece BPE vocabulary (pieces with scores and types, as a
// tokenizer.model or a GGUF "llama" vocabulary holds it) as the
// tokenizer.json transformers' LlamaConverter writes for it: the vocabulary
// by id; merges from every split of a piece into two pieces, ordered by the
// merged piece's score (SentencePieceExtractor); a Prepend("▁") (with the
// dummy prefix) and Replace(" ", "▁") normalizer; a Replace, ByteFallback,
// Fuse (and Strip) decoder; byte_fallback; control and unknown pieces as
// special added tokens, user-defined ones as added tokens, none normalized.
// This is transformers' legacy form, which tokenizes as SentencePiece does
// except that the text right after a user-defined symbol also starts with
// "▁" (each stretch between added tokens is normalized on its own).
// Thread safety: a pure function.
#pragma once

#include <filesystem>
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

// What a tokenizer.model (a SentencePiece ModelProto) says of its
// vocabulary, read without libsentencepiece (whose protobuf cannot share a
// process with libtorch's): the pieces (field 1), TrainerSpec.model_type
// (1 unigram, 2 BPE, ...) and NormalizerSpec.add_dummy_prefix.
struct SpModel {
  std::vector<SpPiece> pieces;
  int model_type = 1;
  bool add_dummy_prefix = true;
};
// Throws Error(kNotFound) for a missing file, Error(kInvalidInput) naming
// the file and byte offset for malformed protobuf (truncated varints or
// fields, lengths past the end, nesting past the schema).
SpModel read_sentencepiece_model(const std::filesystem::path& file);

}  // namespace enclave
