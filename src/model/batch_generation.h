// Batched generation: many prompts through one BatchDecoder with continuous
// batching (Orca, Yu et al. OSDI 2022; serve/scheduler.cpp does the same
// for requests arriving over HTTP). Up to n_slots sequences decode
// together, one token each per step; a sequence that finishes leaves its
// slot between two steps and the next prompt, in request order, takes it.
// Prompts are prefilled in chunks between the steps (chunked prefill,
// Sarathi), which bounds the prefill's activations for long prompts.
// Each sequence samples and stops through its own GenerationStream, so its
// tokens and text are generate_tokens' for the same prompt and options, up
// to the float reassociation of the batched forward (logits agree to
// ~1e-6; batch_decoder_test.cpp checks the tokens).
// Torch-free. Thread safety: drives the decoder; one call at a time per
// decoder, and nothing else using the decoder's model meanwhile.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <vector>

#include "model/batch_decoder.h"
#include "model/engine.h"  // GenerateOptions, GenerateResult

namespace enclave {

struct BatchGenerateRequest {
  std::vector<TokenId> prompt;
  GenerateOptions options;
};

struct BatchGenerateOptions {
  // Prompt tokens prefilled per step, over all sequences; 0 = each prompt
  // whole as soon as it is admitted.
  int prefill_chunk = 512;
  // Called once per request as it finishes, in the order they finish (not
  // request order), with the request's index; may be empty.
  std::function<void(std::size_t index)> on_done;
};

// Generates every request's continuation (stop rules as Engine::generate;
// the context is the model's max_position_embeddings) and returns the
// results in request order; prompt_seconds runs from admission to the
// first token. Throws Error(kInvalidInput) as generate_tokens does for a
// bad prompt or options, when a request's prompt and output (its prompt +
// budget - 1 tokens) exceed the decoder's max_len or its KV pool, and
// whatever the decoder throws; the slots this call took are released on
// every exit, also when on_done throws.
std::vector<GenerateResult> generate_batch(BatchDecoder& decoder,
                                           std::span<const BatchGenerateRequest> requests,
                                           const BatchGenerateOptions& options = {});

}  // namespace enclave
