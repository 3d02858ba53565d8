// Byte-level BPE training (as Hugging Face's BpeTrainer over a ByteLevel
// pre-tokenizer) for models Enclave creates from scratch (`enclave model
// init`). The output is a complete tokenizer.json in the Llama 3 layout:
// 256 byte symbols (ids 0..255 in byte order), learned merges, special
// tokens as added tokens after them; pre-tokenizer Split(Llama 3 regex,
// Isolated) + ByteLevel(use_regex=false); ByteLevel decoder; a
// TemplateProcessing post-processor that adds BOS; ignore_merges.
//
// Training: count the words of the Llama 3 pre-tokenizer over the corpus,
// then repeatedly merge the most frequent adjacent pair (ties: smallest
// (left id, right id)), updating only the words that contain it, until the
// vocabulary is full or no pair occurs min_frequency times. Deterministic.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "text/split_patterns.h"

namespace enclave {

struct BpeTrainOptions {
  // Total ids including the special tokens.
  std::size_t vocab_size = 1024;
  std::vector<std::string> special_tokens = {"<|begin_of_text|>", "<|end_of_text|>",
                                             "<|start_header_id|>", "<|end_header_id|>",
                                             "<|eot_id|>"};
  // The special token the post-processor puts before every sequence; "" for none.
  std::string bos_token = "<|begin_of_text|>";
  std::size_t min_frequency = 2;
};

// Returns tokenizer.json text. Throws Error(kInvalidInput) if vocab_size
// cannot hold the 256 byte symbols plus the special tokens, a special token
// is empty or repeated, or bos_token is not one of them.
std::string train_byte_level_bpe(const std::vector<std::string>& corpus,
                                 const BpeTrainOptions& opts);

// Trains on the built-in corpus (default_corpus.h) and writes
// dir/tokenizer.json, tokenizer_config.json (bos <|begin_of_text|>, eos
// <|end_of_text|>, the Llama 3 chat template, so <|eot_id|> ends a chat
// turn) and special_tokens_map.json, each atomically. The vocabulary may be
// smaller than vocab_size when the corpus runs out of pairs. Throws
// Error(kInvalidInput) for a vocab_size below 261, Error(kIo) on write failure.
void write_default_tokenizer(const std::filesystem::path& dir, std::size_t vocab_size);

// A byte-level BPE tokenizer.json document in Hugging Face tokenizers'
// layout (ByteLevel decoder, no normalizer), and the pre-tokenizer of a
// known Split regex followed by ByteLevel without its own regex.
nlohmann::ordered_json byte_level_bpe_json(nlohmann::ordered_json vocab,
                                           nlohmann::ordered_json merges,
                                           nlohmann::ordered_json added,
                                           nlohmann::ordered_json pre_tokenizer,
                                           nlohmann::ordered_json post_processor,
                                           bool ignore_merges);
nlohmann::ordered_json split_byte_level_pre_tokenizer(SplitPattern pattern);

// The chat template of Meta-Llama-3-8B-Instruct's tokenizer_config.json.
extern const char* const kLlama3ChatTemplate;

}  // namespace enclave
