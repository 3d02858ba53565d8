// Engine: the torch-free facade over a loaded model, used by the CLI, bench,
// eval and the server. It loads a Hugging Face model directory (config.json,
// safetensors weights, tokenizer if present), scores token sequences and
// generates text. libtorch stays behind the pimpl so callers compile without
// it. Also here: inspect_model (a summary read from headers, no weights
// loaded) and init_model (a new randomly initialised model directory).
// Thread safety: a loaded Engine is immutable; score, last_logits and
// generate are const but share the model's weights and torch's thread pool,
// so run them from one thread at a time unless the caller serialises them
// (the server's scheduler does). load/inspect_model/init_model are stateless.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/config.h"
#include "model/sampling.h"  // SamplingParams
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace enclave {

struct InferenceModel;  // model/inference_model.h

struct EngineOptions {
  std::string dtype = "f32";   // compute dtype: "f32" | "bf16"
  std::string device = "cpu";  // "cpu", "cuda", "cuda:1"
  int threads = 0;             // torch intra-op threads; 0 = torch's default
  std::string adapter;  // PEFT LoRA adapter directory applied on top (model/lora.h); "" = none
  // A Jinja chat template file used instead of the model's own; "" = the model's.
  std::string chat_template;
};

struct GenerateOptions {
  int max_tokens = 256;
  SamplingParams sampling;
  std::vector<std::string> stop;  // stop strings (not emitted)
  bool ignore_eos = false;
};

struct GenerateResult {
  std::string text;
  std::vector<TokenId> tokens;  // generated tokens (not the prompt)
  int n_prompt_tokens = 0;
  int n_generated = 0;
  double prompt_seconds = 0.0;
  double decode_seconds = 0.0;
  std::string finish_reason;  // "stop" | "length"
};

class Engine {
 public:
  // Loads config.json + weights (+ tokenizer and chat template if the
  // directory has them; score works without any tokenizer files), and the
  // LoRA adapter of options.adapter, unmerged, on top.
  // Throws Error(kNotFound) for a missing directory/config/weights file,
  // Error(kInvalidInput) for malformed files, a missing/extra/mis-shaped
  // tensor or bad options, Error(kUnsupported) for an unknown architecture.
  static std::unique_ptr<Engine> load(const std::filesystem::path& dir,
                                      const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const ModelConfig& config() const;
  const Tokenizer* tokenizer() const;  // nullptr when the directory has none
  const std::optional<ChatTemplate>& chat_template() const;

  // logprobs[i] = log P(tokens[i+1] | tokens[0..i]), computed in fp32 from the
  // model's logits (log_softmax in fp32); size n-1. Throws Error(kInvalidInput)
  // if tokens is empty, any id is outside [0, vocab_size), or the sequence is
  // longer than max_position_embeddings.
  std::vector<double> score(const std::vector<TokenId>& tokens) const;

  // Full-vocabulary logits (fp32) of the last position of a single prompt.
  // Same errors as score.
  std::vector<float> last_logits(const std::vector<TokenId>& tokens) const;

  // score for many sequences in one forward pass (right-padded: causal
  // attention never lets a real token see the pads after it), as evaluation
  // scores the choices of many questions. logprobs[i] is what score would
  // return for sequences[i] (up to float reassociation); greedy[j] is 1 when
  // tokens[j+1] is the argmax of the logits at position j. Same errors as
  // score, for any of the sequences.
  struct SequenceScores {
    std::vector<double> logprobs;
    std::vector<std::uint8_t> greedy;
  };
  std::vector<SequenceScores> score_batch(const std::vector<std::vector<TokenId>>& sequences) const;

  // Scores several continuations of one shared context, running the context
  // once and keeping its keys and values in a KV cache (as generation does),
  // so the choices of a multiple-choice question cost their own tokens only.
  // result[i].logprobs[j] = log P(continuations[i][j] | context +
  // continuations[i][0..j)), what score(context + continuations[i]) gives for
  // those positions (up to float reassociation); greedy as in score_batch.
  // Throws Error(kInvalidInput) for an empty context or continuation, a bad
  // id, or context + continuation longer than max_position_embeddings.
  std::vector<SequenceScores> score_continuations(
      const std::vector<TokenId>& context,
      const std::vector<std::vector<TokenId>>& continuations) const;

  // Generates a continuation of prompt, streaming decoded text pieces through
  // on_text (may be empty). Stops at max_tokens or when the context
  // (max_position_embeddings) is full ("length"), at a tokenizer/config stop
  // id unless ignore_eos, or at a stop string ("stop"; the stop string and
  // what follows are not emitted). Needs a tokenizer; throws
  // Error(kInvalidInput) without one, for bad sampling params, negative
  // max_tokens, an empty prompt, a bad id, or a prompt that fills the context.
  GenerateResult generate(const std::vector<TokenId>& prompt, const GenerateOptions& options,
                          const std::function<void(std::string_view)>& on_text) const;

  std::int64_t n_parameters() const;

 private:
  friend const InferenceModel& inference_model_of(const Engine& engine);
  struct Impl;  // defined in engine.cpp; torch lives there
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Shared by Engine and BatchDecoder (and selects the BLAS kernels). torch's intra-op threads (and,
// once per process, its inter-op threads); 0 leaves the library default. For f32 under OpenBLAS's
// pthreads build (Debian's default libblas), OpenBLAS runs single-threaded: its spinning threads
// and torch's OpenMP threads fought over the cores (f32 on 2 threads ran at half the speed of 1).
// Giving the threads to OpenBLAS and one to torch instead was as fast on an idle machine but up to
// 3x slower beside other busy processes (bench/README.md).
void apply_compute_threads(int threads, bool f32);

// ENCLAVE_ONEDNN=0 turns libtorch's oneDNN kernels off for the process, as
// torch.backends.mkldnn.enabled = False does in PyTorch: bf16 matmuls then
// take ATen's own path, the one CPUs without AVX-512 take (with
// ATEN_CPU_CAPABILITY=avx2, an Intel machine computes as an AMD one without
// AVX-512 does). Unset or 1: on. Throws Error(kInvalidInput) for another value.
void apply_cpu_backend_env();

// OpenBLAS picks its kernels from the CPU model it recognises; Debian 12's
// (0.3.21) does not know recent ones (family 6 model 207 here, 2023) and
// falls back to its Prescott (SSE3) kernels, which ran f32 GEMM 4x slower
// than its SkylakeX ones on the same machine. When the core OpenBLAS chose
// is such a fallback, this selects SkylakeX (AVX-512 F/CD/BW/DQ/VL) or
// Haswell (AVX2, FMA) kernels by instruction set instead, through
// OpenBLAS's own dynamic-architecture entry points (OPENBLAS_CORETYPE set
// and re-read). An explicit OPENBLAS_CORETYPE, another BLAS, or a core
// OpenBLAS recognised is left as it is. Once per process, before BLAS work;
// apply_cpu_backend_env and apply_compute_threads call it. Returns the core
// in use ("" when the BLAS is not OpenBLAS).
std::string select_blas_kernels();
// The ids that end a generation: the tokenizer's stop tokens (none without
// a tokenizer) and config.json's eos_token_id(s), each once.
std::vector<TokenId> stop_token_ids(const Tokenizer* tokenizer, const ModelConfig& config);

// Summary for `enclave model inspect`, read from config.json and safetensors
// headers without loading weights: architecture, model_type, n_parameters,
// per-dtype tensor counts/bytes, n_layer/hidden/heads/kv heads/head_dim/vocab/
// context/rope, tied, tokenizer kind + vocab size, chat template (what it is and where it comes
// from; left null without with_tokenizer, which skips reading it). Throws
// like Engine::load for missing or malformed files.
nlohmann::json inspect_model(const std::filesystem::path& dir, bool with_tokenizer = true);
// The summary as aligned human-readable lines.
std::string format_inspect(const nlohmann::json& summary);

// Creates a randomly initialised Llama model directory in Hugging Face layout:
// config.json, model.safetensors (F32, __metadata__ {"format":"pt"}),
// generation_config.json and tokenizer files. Presets: "tiny" (a few million
// parameters, for tests) and "small" (~100M, for benchmarks). Weights are
// normal(0, 0.02) (HF initializer_range), norms ones; the same seed gives
// byte-identical files. Throws Error(kInvalidInput) for an unknown preset or
// an out_dir that exists and is not empty.
void init_model(const std::string& preset, const std::filesystem::path& out_dir,
                std::uint64_t seed);

}  // namespace enclave
