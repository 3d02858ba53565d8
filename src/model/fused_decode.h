// FusedDecoder: one decode step (one new token for each of a few
// sequences, each against its own keys and values) on the CPU without
// libtorch's per-operation dispatch. The model's
// weights are read where they lie (the mapped float32 / bfloat16 tensors or
// quantised blocks); activations stay float32 in buffers allocated once;
// each layer runs as four threaded products (q/k/v together, o, gate/up
// together, down) with RMSNorm, rotary positions, the K/V cache write,
// single-token attention and the gated activation between them in plain
// loops. Semantics are the Transformer's (every family it runs: biases, q/k
// norms, Gemma's norms and soft-capping, sliding windows, local rotary
// tables, longrope); with bfloat16 weights the activations are not rounded
// to bfloat16 between operations (as llama.cpp's CPU path), so logits differ
// from the libtorch path by bfloat16 rounding only. Prefill stays on the
// libtorch path (oneDNN), which fills the same cache. The caches it reads
// are Engine's KvCache and the batch decoder's paged pool (KvPlace).
// ENCLAVE_FUSED_DECODE=0 turns it off (comparisons, benchmarks).
// Thread safety: one FusedDecoder per generation; the model must not change
// while it lives.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "model/kv_cache.h"
#include "model/transformer.h"

namespace enclave {

// Where one sequence's keys and values lie in one layer's cache storage
// (elements of the model's dtype, float32 or bfloat16): KV head g at
// position p is at element g * head_stride + slot(p) * head_dim from k (or
// v), where slot(p) is p (a whole cache), p mod ring (a sliding window kept
// as a ring), or blocks[p / block] * block + p % block (a paged pool).
struct KvPlace {
  void* k = nullptr;
  void* v = nullptr;
  std::int64_t head_stride = 0;
  std::int64_t ring = 0;        // > 0: a ring of this many positions
  std::span<const int> blocks;  // non-empty: the block table of a paged pool
  std::int64_t block = 0;       // positions per block
};

class FusedDecoder {
 public:
  // Null when the fused path does not apply: a non-CPU model, an attached
  // adapter, a weight that is not a contiguous float32 / bfloat16 tensor or
  // quantised matrix, or ENCLAVE_FUSED_DECODE=0.
  static std::unique_ptr<FusedDecoder> create(TransformerImpl& model);
  ~FusedDecoder();

  // Logits (vocab, float32) after `token` at `position`; the cache holds the
  // positions before it and receives this token's keys and values.
  std::span<const float> step(std::int64_t token, std::int64_t position, KvCache& cache);

  // Logits (rows, vocab) after tokens[r] at positions[r] for each row r;
  // place(layer, r) says where row r's keys and values lie in that layer
  // (called once per layer and row, before the row's new ones are stored).
  using PlaceOf = std::function<KvPlace(std::int64_t layer, std::int64_t row)>;
  std::span<const float> step_rows(std::span<const std::int64_t> tokens,
                                   std::span<const std::int64_t> positions, const PlaceOf& place);

  struct Impl;

 private:
  explicit FusedDecoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace enclave
