// InferenceModel: a Hugging Face model directory loaded for inference, the
// part that Engine and BatchDecoder share: config.json, the weights in the
// compute dtype on the device, an optional LoRA adapter on top, the
// tokenizer, the chat template and the stop ids. Internal to src/model (it
// carries libtorch types); callers outside use Engine or BatchDecoder.
// Thread safety: the model is shared by its users (Engine, BatchDecoder
// over it): one forward at a time. load_inference_model is stateless apart from torch's
// process-wide thread settings (apply_compute_threads); the result belongs
// to one owner.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "model/config.h"
#include "model/engine.h"  // EngineOptions
#include "model/lora.h"
#include "model/transformer.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace enclave {

struct InferenceModel {
  ModelConfig config;
  Transformer model{nullptr};
  std::shared_ptr<LoraAdapter> adapter;  // null without options.adapter
  // null when the directory has none; shared by a BatchDecoder over an Engine
  std::shared_ptr<const Tokenizer> tokenizer;
  std::optional<ChatTemplate> chat_template;  // only with a tokenizer
  std::vector<TokenId> stop_ids;              // tokenizer stop ids + config eos ids
};

enum class TokenizerFiles { kOptional, kRequired };

// Loads dir as options say (dtype, device, threads, adapter). Throws
// Error(kNotFound) for a missing directory, config.json or weights file (or
// tokenizer when kRequired), Error(kInvalidInput) for bad options or
// malformed files, Error(kUnsupported) for an unknown architecture.
InferenceModel load_inference_model(const std::filesystem::path& dir, const EngineOptions& options,
                                    TokenizerFiles tokenizer_files);

// The model an Engine has loaded (engine.cpp), for a BatchDecoder that
// decodes with the same weights, adapter and tokenizer.
const InferenceModel& inference_model_of(const Engine& engine);

}  // namespace enclave
