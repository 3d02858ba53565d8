// BatchDecoder: several sequences, each in its own slot, decoded together
// one token per step, for continuous batching (Orca, Yu et al. OSDI 2022;
// vLLM): a sequence joins with a prefill of its prompt (whole, or in chunks
// between other steps) and leaves by releasing its slot between any two
// steps, while the others keep going. A step runs the linear layers of all
// rows as one matrix product (where batching pays) and attention per row
// over that row's own cache, so the rows never see each other's tokens.
//
// The KV cache is paged (kv_cache_pool.h): the full-attention layers keep K
// and V in one pool of blocks of kKvBlockSize positions, in the compute
// dtype, taken as sequences grow; a sequence is admitted only when the pool
// can hold its prompt and its output, so nothing runs out mid-stream. Full
// prompt blocks are kept in a prefix cache, so a prompt that starts like an
// earlier one (a system prompt) reuses their K and V. Sliding-window layers
// shorter than the context (Gemma 2/3, Mistral) take blocks from a second
// pool, which holds of each sequence only its window: blocks that fall
// behind it go back to that pool (and stay cached there), so their memory
// is that of the window, not the context, and a cached prefix is reused
// when the blocks of its last window are still cached.
//
// Torch-free header: libtorch stays in batch_decoder.cpp, so the server
// compiles without it. Loads the model itself (same files and errors as
// Engine::load), or decodes with the model an Engine has loaded
// (from_engine: eval's batched generation); needs a tokenizer.
// Thread safety: none; one thread (the server's scheduler) drives it. A
// decoder from_engine and its Engine share the model: one of them at a time.
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
// Positions per KV cache block: vLLM's default; a sequence wastes at most
// one partly filled block, and attention pads its keys to whole blocks.
inline constexpr int kKvBlockSize = 16;

struct BatchDecoderOptions {
  int n_slots = 8;  // sequences that can be in the batch at once
  int max_len = 0;  // tokens per slot (prompt + output); 0 = min(model's context, kDefaultMaxLen)
  // Size of the paged KV pool in bytes (serve's --kv-cache-mb); 0 = what
  // n_slots sequences of max_len tokens need. It must hold at least one
  // sequence of max_len tokens. The sliding-window layers' pool holds every
  // slot's window, or as many windows as this pool holds sequences if that
  // is more, or is this size (at least every slot's window) when every
  // layer is a sliding-window one.
  std::int64_t kv_cache_bytes = 0;
  bool prefix_cache = true;  // reuse cached blocks of equal prompt prefixes
  // PEFT LoRA adapter directory applied on top (model/lora.h), "" = none.
  // Weights are memory-mapped, so decoders of one base with different
  // adapters share the base's pages and each costs only its cache.
  std::filesystem::path adapter;
  // PEFT LoRA adapters served in the same batch as the base (S-LoRA): the
  // base weights and the KV pool are shared, each sequence applies its own
  // (admit's `adapter`: k + 1 for adapters[k], 0 for the base).
  std::vector<std::filesystem::path> adapters;
};

class BatchDecoder {
 public:
  // Loads config.json, weights, tokenizer and chat template from dir and
  // allocates the KV pools. Throws like
  // Engine::load (and like LoraAdapter::attach_saved for a bad adapter);
  // Error(kInvalidInput) for a directory without a tokenizer, n_slots < 1,
  // max_len < 0 or above the model's context, a kv_cache_bytes that cannot
  // hold one sequence of max_len tokens, or a cache larger than the memory
  // available (the message names --kv-cache-mb, --ctx, --max-concurrency).
  static std::unique_ptr<BatchDecoder> load(const std::filesystem::path& dir,
                                            const EngineOptions& engine,
                                            const BatchDecoderOptions& options);
  // A decoder over the model `engine` has loaded: the same weights (no
  // second copy), the LoRA adapter the engine applies, its tokenizer, chat
  // template and stop ids; only the KV pools are new. The engine
  // must outlive the decoder. Throws Error(kInvalidInput) when the engine
  // has no tokenizer or options name an adapter (the engine's model has its
  // own), otherwise as load for the options.
  static std::unique_ptr<BatchDecoder> from_engine(const Engine& engine,
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

  struct Admission {
    int slot = 0;
    int n_cached = 0;  // prompt tokens already in the cache (prefix cache hit)
  };
  // Takes the lowest free slot for a sequence that starts with `prompt` and
  // holds at most n_tokens tokens (prompt + output, <= max_len), reserving
  // the pool blocks for all of them; the prompt's longest cached prefix is
  // reused (length(slot) == n_cached; extend with the rest). nullopt when
  // every slot is taken or the pool cannot hold n_tokens more now (blocks
  // come back as sequences are released). Throws Error(kInvalidInput) for
  // an empty or invalid prompt or n_tokens outside [prompt size, max_len].
  // `adapter` picks one of BatchDecoderOptions::adapters (k + 1), 0 the
  // base; Error(kInvalidInput) outside [0, n_adapters()]. Cached prefixes are
  // shared only between sequences of the same adapter.
  std::optional<Admission> admit(std::span<const TokenId> prompt, int n_tokens, int adapter = 0);
  int n_adapters() const;
  // admit without a prompt, reserving max_len tokens.
  std::optional<int> acquire();
  // Frees a slot and its blocks (cached prefix blocks stay for reuse).
  void release(int slot);
  // Tokens in the slot's cache so far.
  int length(int slot) const;

  // Appends tokens (a prompt, or its next chunk) after the slot's cached
  // ones and returns the fp32 logits of the last (vocab_size values).
  // Chunks give the same result as one call with all of them. Throws
  // Error(kInvalidInput) for no tokens, an id outside the vocabulary,
  // going past max_len, or a pool too full for blocks beyond the slot's
  // reservation; a one-line Error naming the flags when libtorch fails
  // (memory). ENCLAVE_CHECK for a slot not taken.
  std::vector<float> extend(int slot, std::span<const TokenId> tokens);
  // extend on an empty slot (length 0; ENCLAVE_CHECK).
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

  struct CacheStats {
    std::int64_t n_blocks = 0;       // the pool of the full-attention layers
    std::int64_t n_blocks_used = 0;  // held by sequences
    std::int64_t block_bytes = 0;    // K and V of one block over those layers (0: none)
    std::int64_t window_bytes = 0;   // the sliding-window layers' pool
    std::int64_t prefix_queried_tokens = 0;
    std::int64_t prefix_hit_tokens = 0;
  };
  CacheStats cache_stats() const;

 private:
  struct Impl;  // torch lives in batch_decoder.cpp
  explicit BatchDecoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace enclave
