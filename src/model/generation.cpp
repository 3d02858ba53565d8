#include "model/generation.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "model/kv_cache.h"
#include "model/sampling.h"
#include "model/stop_strings.h"

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

void validate_tokens(std::span<const TokenId> tokens, const ModelConfig& config,
                     std::string_view what) {
  if (tokens.empty()) fail_input("{}: no tokens", what);
  if (static_cast<std::int64_t>(tokens.size()) > config.max_position_embeddings) {
    fail_input("{}: {} tokens exceed the model's context of {} (max_position_embeddings)", what,
               tokens.size(), config.max_position_embeddings);
  }
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= config.vocab_size) {
      fail_input("{}: token {} at index {} is outside the vocabulary [0, {})", what, tokens[i], i,
                 config.vocab_size);
    }
  }
}

GenerateResult generate_tokens(TransformerImpl& model, const Tokenizer& tokenizer,
                               std::span<const TokenId> prompt, const GenerateOptions& options,
                               std::span<const TokenId> stop_ids,
                               const std::function<void(std::string_view)>& on_text) {
  const ModelConfig& config = model.config();
  validate_tokens(prompt, config, "generate: prompt");
  if (options.max_tokens < 0)
    fail_input("generate: max_tokens must be >= 0, got {}", options.max_tokens);
  Sampler sampler(options.sampling);
  StopStringFilter filter(options.stop);
  StreamDecoder decoder(tokenizer);

  GenerateResult result;
  result.n_prompt_tokens = static_cast<int>(prompt.size());
  result.finish_reason = "length";
  const std::int64_t n_prompt = static_cast<std::int64_t>(prompt.size());
  const std::int64_t budget =
      std::min<std::int64_t>(options.max_tokens, config.max_position_embeddings - n_prompt);
  auto emit = [&](const std::string& text) {
    if (text.empty()) return;
    result.text += text;
    if (on_text) on_text(text);
  };
  if (budget <= 0) return result;

  c10::InferenceMode inference;
  const torch::Device device = model.device();
  // The last sampled token is never fed back, hence budget - 1.
  KvCache cache(config, /*batch=*/1, n_prompt + budget - 1,
                torch::dtype(model.dtype()).device(device), /*windowed=*/true);
  std::vector<TokenId> history(prompt.begin(), prompt.end());

  const Clock::time_point start = Clock::now();
  torch::Tensor ids =
      torch::tensor(std::vector<std::int64_t>(prompt.begin(), prompt.end()), torch::kInt64)
          .view({1, n_prompt})
          .to(device);
  std::vector<float> logits = last_logits_of(model, model.forward_hidden(ids, &cache, 0));
  Clock::time_point decode_start = Clock::now();
  result.prompt_seconds = seconds_between(start, decode_start);

  std::int64_t position = n_prompt;
  while (true) {
    const TokenId token = sampler.sample(logits, history);
    history.push_back(token);
    result.tokens.push_back(token);
    if (!options.ignore_eos &&
        std::find(stop_ids.begin(), stop_ids.end(), token) != stop_ids.end()) {
      result.finish_reason = "stop";
      break;
    }
    emit(filter.push(decoder.push(token)));
    if (filter.stopped()) {
      result.finish_reason = "stop";
      break;
    }
    if (static_cast<std::int64_t>(result.tokens.size()) >= budget) break;
    torch::Tensor next = torch::full({1, 1}, static_cast<std::int64_t>(token),
                                     torch::dtype(torch::kInt64).device(device));
    logits = last_logits_of(model, model.forward_hidden(next, &cache, position));
    ++position;
  }
  if (!filter.stopped()) {
    emit(filter.push(decoder.flush()));
    emit(filter.flush());
    if (filter.stopped()) result.finish_reason = "stop";
  }
  result.n_generated = static_cast<int>(result.tokens.size());
  result.decode_seconds = seconds_between(decode_start, Clock::now());
  return result;
}

}  // namespace enclave
