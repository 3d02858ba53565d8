// BatchDecoder: several sequences, each in its own slot of a shared KV cache,
// decoded together one token per step, for continuous batching (Orca, Yu et
// al. OSDI 2022; vLLM): a sequence joins with a prefill of its prompt and
// leaves by releasing its slot between any two steps, while the others keep
// going. A step runs the linear layers of all rows as one matrix product
// (where batching pays) and attention per row over that row's own cache
// length, so the rows never see each other's tokens or padding.
// Torch-free header: libtorch stays in batch_decoder.cpp, so the server
// compiles without it. Loads the model itself (same files and errors as
// Engine::load) and needs a tokenizer.
// Thread safety: none; one thread (the server's scheduler) drives it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "model/config.h"
#include "model/engine.h"  // EngineOptions
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace enclave {

// The tokens per slot when BatchDecoderOptions::max_len is 0 and the model
// allows more.
inline constexpr std::int64_t kDefaultMaxLen = 4096;

struct BatchDecoderOptions {
  int n_slots = 8;  // sequences that can be in the batch at once
  int max_len = 0;  // tokens per slot (prompt + output); 0 = min(model's context, kDefaultMaxLen)
  // PEFT LoRA adapter directory applied on top (model/lora.h), "" = none.
  // Weights are memory-mapped, so decoders of one base with different
  // adapters share the base's pages and each costs only its cache.
  std::filesystem::path adapter;
};

class BatchDecoder {
 public:
  // Loads config.json, weights, tokenizer and chat template from dir and
  // allocates the cache: n_slots x max_len positions per layer. Throws like
  // Engine::load (and like LoraAdapter::attach_saved for a bad adapter);
  // Error(kInvalidInput) for a directory without a tokenizer,
  // n_slots < 1, or max_len < 0 or above the model's context.
  static std::unique_ptr<BatchDecoder> load(const std::filesystem::path& dir,
                                            const EngineOptions& engine,
                                            const BatchDecoderOptions& options);
  ~BatchDecoder();
  BatchDecoder(const BatchDecoder&) = delete;
  BatchDecoder& operator=(const BatchDecoder&) = delete;

  const ModelConfig& config() const;
  const Tokenizer& tokenizer() const;
  const std::optional<ChatTemplate>& chat_template() const;
  // Tokenizer stop ids plus config eos ids, no duplicates.
  const std::vector<TokenId>& stop_ids() const;
  int n_slots() const;
  int max_len() const;

  // The lowest free slot, now taken; nullopt when all are in use.
  std::optional<int> acquire();
  // Frees a slot (its cache is simply overwritten by the next prefill).
  void release(int slot);
  // Tokens in the slot's cache so far.
  int length(int slot) const;

  // Runs prompt into the slot's cache from position 0 and returns the fp32
  // logits of its last position (vocab_size values). Throws
  // Error(kInvalidInput) for an empty prompt, an id outside the vocabulary
  // or a prompt longer than max_len; ENCLAVE_CHECK for a slot not acquired.
  std::vector<float> prefill(int slot, std::span<const TokenId> prompt);

  struct StepInput {
    int slot = 0;
    TokenId token = 0;
  };
  // Appends each row's token at the end of its slot and returns the fp32
  // logits of those positions, row-major (inputs.size() x vocab_size).
  // Throws Error(kInvalidInput) for a bad id or a slot whose cache is full
  // (length == max_len); ENCLAVE_CHECK for a repeated or free slot.
  std::vector<float> step(std::span<const StepInput> inputs);

 private:
  struct Impl;  // torch lives in batch_decoder.cpp
  explicit BatchDecoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace enclave
