// Autoregressive generation for one prompt: a prefill forward of the whole
// prompt into a KV cache, then one forward per new token; sampling, stop
// rules and streamed text are GenerationStream's (generation_stream.h), as
// in batched generation (batch_generation.h).
// Thread safety: runs the model; one generation at a time per model.
#pragma once

#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "model/engine.h"
#include "model/generation_stream.h"  // validate_tokens
#include "model/transformer.h"
#include "text/tokenizer.h"

namespace enclave {

// Generates a continuation of prompt (see Engine::generate for stop rules).
// stop_ids: token ids that end generation unless options.ignore_eos.
// Throws Error(kInvalidInput) for an empty prompt, an id outside the
// vocabulary, a prompt longer than the context, max_tokens < 0, bad
// sampling params or an empty stop string.
GenerateResult generate_tokens(TransformerImpl& model, const Tokenizer& tokenizer,
                               std::span<const TokenId> prompt, const GenerateOptions& options,
                               std::span<const TokenId> stop_ids,
                               const std::function<void(std::string_view)>& on_text);

}  // namespace enclave
