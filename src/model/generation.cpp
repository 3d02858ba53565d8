#include "model/generation.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "model/fused_decode.h"
#include "model/generation_stream.h"
#include "model/kv_cache.h"

namespace enclave {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Last-position logits of hidden (1, T, C) as fp32 on the CPU.
std::vector<float> last_logits_of(TransformerImpl& model, const torch::Tensor& hidden) {
  torch::Tensor logits = model.logits(hidden.select(1, hidden.size(1) - 1)).select(0, 0);
  logits = logits.to(torch::kCPU, torch::kFloat32).contiguous();
  const float* p = logits.data_ptr<float>();
  return std::vector<float>(p, p + logits.numel());
}

}  // namespace

GenerateResult generate_tokens(TransformerImpl& model, const Tokenizer& tokenizer,
                               std::span<const TokenId> prompt, const GenerateOptions& options,
                               std::span<const TokenId> stop_ids,
                               const std::function<void(std::string_view)>& on_text) {
  const ModelConfig& config = model.config();
  validate_tokens(prompt, config, "generate: prompt");
  GenerationStream stream(tokenizer, prompt, options, stop_ids, config.max_position_embeddings,
                          on_text);
  if (stream.finished()) return stream.take_result();

  c10::InferenceMode inference;
  const torch::Device device = model.device();
  const std::int64_t n_prompt = static_cast<std::int64_t>(prompt.size());
  // The last sampled token is never fed back, hence budget - 1.
  KvCache cache(config, /*batch=*/1, n_prompt + stream.budget() - 1,
                torch::dtype(model.dtype()).device(device), /*windowed=*/true);

  const Clock::time_point start = Clock::now();
  torch::Tensor ids =
      torch::tensor(std::vector<std::int64_t>(prompt.begin(), prompt.end()), torch::kInt64)
          .view({1, n_prompt})
          .to(device);
  std::vector<float> logits = last_logits_of(model, model.forward_hidden(ids, &cache, 0));
  const Clock::time_point decode_start = Clock::now();

  std::int64_t position = n_prompt;
  const std::unique_ptr<FusedDecoder> fused = FusedDecoder::create(model);
  while (stream.push(logits)) {
    if (fused) {
      const std::span<const float> next = fused->step(stream.last(), position++, cache);
      logits.assign(next.begin(), next.end());
      continue;
    }
    torch::Tensor next = torch::full({1, 1}, static_cast<std::int64_t>(stream.last()),
                                     torch::dtype(torch::kInt64).device(device));
    logits = last_logits_of(model, model.forward_hidden(next, &cache, position));
    ++position;
  }
  GenerateResult result = stream.take_result();
  result.prompt_seconds = seconds_between(start, decode_start);
  result.decode_seconds = seconds_between(decode_start, Clock::now());
  return result;
}

}  // namespace enclave
