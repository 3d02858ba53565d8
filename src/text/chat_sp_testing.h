// Test support for the chat-template, special-token and SentencePiece tests:
// a small SentencePiece BPE model trained on the spot
// with the real trainer (so the tests need no binary fixtures).
// Temporary folders: ScratchDir (core/scratch_dir_testing.h).
// Thread safety: train_test_sentencepiece_model
// is safe to call once per process from one thread.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/scratch_dir_testing.h"

namespace enclave::testing {

// Writes text to file (binary), replacing it. Throws std::runtime_error.
void write_test_file(const std::filesystem::path& file, std::string_view text);

// Lines of English, code, numbers, Korean and emoji used to train the model.
std::vector<std::string> sentencepiece_test_corpus();

// Trains a SentencePiece BPE model in the Llama 2 layout (byte_fallback,
// identity normalisation, dummy prefix, split digits, <unk>=0 <s>=1 </s>=2)
// with control symbols <|im_start|>, <|im_end|> and user-defined symbol
// <tool>, and writes it to dir/tokenizer.model. Returns that path.
std::filesystem::path train_test_sentencepiece_model(const std::filesystem::path& dir,
                                                     int vocab_size = 600);

}  // namespace enclave::testing
