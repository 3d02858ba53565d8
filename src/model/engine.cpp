#include "model/engine.h"

#include <dlfcn.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <string_view>

#include "core/error.h"
#include "model/generation.h"
#include "model/inference_model.h"
#include "model/kv_cache.h"
#include "model/lora.h"
#include "model/transformer.h"

namespace enclave {

struct Engine::Impl : InferenceModel {
  std::int64_t n_parameters = 0;
};

namespace {

// Positions scored per lm_head chunk, so (T, V) fp32 logits of a long
// sequence never exist at once.
constexpr std::int64_t kScoreChunk = 256;

torch::Tensor ids_tensor(const std::vector<TokenId>& tokens, const torch::Device& device) {
  return torch::tensor(std::vector<std::int64_t>(tokens.begin(), tokens.end()), torch::kInt64)
      .view({1, static_cast<std::int64_t>(tokens.size())})
      .to(device);
}

}  // namespace

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

std::unique_ptr<Engine> Engine::load(const std::filesystem::path& dir,
                                     const EngineOptions& options) {
  auto impl = std::make_unique<Impl>();
  static_cast<InferenceModel&>(*impl) =
      load_inference_model(dir, options, TokenizerFiles::kOptional);
  for (const auto& p : impl->model->parameters()) impl->n_parameters += p.numel();
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

namespace {

// An OpenBLAS entry point, or nullptr when the BLAS libtorch loaded is not
// OpenBLAS (or lacks it). Looked up at run time: the binary does not link
// OpenBLAS itself.
template <typename Fn>
Fn openblas_symbol(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_DEFAULT, name));
}

// OpenBLAS's threading model (0 sequential, 1 pthreads, 2 OpenMP), or -1
// when it is not OpenBLAS.
int openblas_parallel() {
  static const auto fn = openblas_symbol<int (*)()>("openblas_get_parallel");
  return fn != nullptr ? fn() : -1;
}

void set_openblas_threads(int threads) {
  static const auto fn = openblas_symbol<void (*)(int)>("openblas_set_num_threads");
  if (fn != nullptr) fn(threads);
}

}  // namespace

std::string select_blas_kernels() {
  static std::string core;
  static std::once_flag once;
  std::call_once(once, [] {
    const auto corename = openblas_symbol<char* (*)()>("openblas_get_corename");
    const auto quit = openblas_symbol<void (*)()>("gotoblas_dynamic_quit");
    const auto init = openblas_symbol<void (*)()>("gotoblas_dynamic_init");
    if (corename == nullptr) return;
    core = corename();
    // DYNAMIC_ARCH builds only (Debian's): they export the re-selection.
    if (quit == nullptr || init == nullptr || std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
    const std::string_view generic[] = {"Prescott",   "Core2",     "Katmai",
                                        "Coppermine", "Northwood", "Banias"};
    if (std::find(std::begin(generic), std::end(generic), core) == std::end(generic)) return;
    const char* wanted = nullptr;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
      wanted = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      wanted = "Haswell";
    if (wanted == nullptr) return;
    ::setenv("OPENBLAS_CORETYPE", wanted, /*overwrite=*/0);
    quit();
    init();
    core = corename();
  });
  return core;
}

void apply_compute_threads(int threads, bool f32) {
  select_blas_kernels();
  if (f32 && openblas_parallel() == 1) set_openblas_threads(1);
  if (threads <= 0) return;
  torch::set_num_threads(threads);
  // Inter-op threads can be set once per process, before any parallel work.
  static std::once_flag once;
  std::call_once(once, [threads] {
    try {
      torch::set_num_interop_threads(threads);
    } catch (const c10::Error&) {
      // Already started by earlier torch work; the intra-op setting above is what matters.
    }
  });
}

void apply_cpu_backend_env() {
  select_blas_kernels();
  const char* env = std::getenv("ENCLAVE_ONEDNN");
  if (env == nullptr || std::string_view(env).empty() || std::string_view(env) == "1") return;
  if (std::string_view(env) != "0")
    fail_input("ENCLAVE_ONEDNN: '{}' is not 0 (oneDNN off) or 1 (on, the default)", env);
  at::globalContext().setUserEnabledMkldnn(false);
}

std::vector<TokenId> stop_token_ids(const Tokenizer* tokenizer, const ModelConfig& config) {
  std::vector<TokenId> ids;
  if (tokenizer != nullptr) ids = tokenizer->stop_ids();
  for (std::int64_t id : config.eos_token_ids) {
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(static_cast<TokenId>(id));
  }
  return ids;
}

const InferenceModel& inference_model_of(const Engine& engine) { return *engine.impl_; }

const ModelConfig& Engine::config() const { return impl_->config; }
const Tokenizer* Engine::tokenizer() const { return impl_->tokenizer.get(); }
const std::optional<ChatTemplate>& Engine::chat_template() const { return impl_->chat_template; }
std::int64_t Engine::n_parameters() const { return impl_->n_parameters; }

std::vector<double> Engine::score(const std::vector<TokenId>& tokens) const {
  validate_tokens(tokens, impl_->config, "score");
  c10::InferenceMode inference;
  TransformerImpl& model = *impl_->model;
  const std::int64_t n = static_cast<std::int64_t>(tokens.size());
  torch::Tensor ids = ids_tensor(tokens, model.device());
  torch::Tensor hidden = model.forward_hidden(ids).select(0, 0);  // (T, C)
  std::vector<double> out;
  out.reserve(n - 1);
  for (std::int64_t begin = 0; begin < n - 1; begin += kScoreChunk) {
    const std::int64_t end = std::min(begin + kScoreChunk, n - 1);
    torch::Tensor logprobs =
        torch::log_softmax(model.logits(hidden.slice(0, begin, end)).to(torch::kFloat32), -1);
    torch::Tensor next = ids.select(0, 0).slice(0, begin + 1, end + 1).unsqueeze(1);
    torch::Tensor picked =
        logprobs.gather(1, next).squeeze(1).to(torch::kCPU, torch::kFloat64).contiguous();
    const double* p = picked.data_ptr<double>();
    out.insert(out.end(), p, p + picked.numel());
  }
  return out;
}

std::vector<Engine::SequenceScores> Engine::score_batch(
    const std::vector<std::vector<TokenId>>& sequences) const {
  std::vector<SequenceScores> out(sequences.size());
  if (sequences.empty()) return out;
  std::int64_t T = 0;
  for (const auto& s : sequences) {
    validate_tokens(s, impl_->config, "score_batch");
    T = std::max<std::int64_t>(T, static_cast<std::int64_t>(s.size()));
  }
  const std::int64_t B = static_cast<std::int64_t>(sequences.size());
  std::vector<std::int64_t> flat(static_cast<std::size_t>(B * T),
                                 0);  // pad id 0: any valid id works
  for (std::int64_t b = 0; b < B; ++b)
    std::copy(sequences[b].begin(), sequences[b].end(), flat.begin() + b * T);
  c10::InferenceMode inference;
  TransformerImpl& model = *impl_->model;
  torch::Tensor ids = torch::tensor(flat, torch::kInt64).view({B, T}).to(model.device());
  torch::Tensor hidden = model.forward_hidden(ids);  // (B, T, C)
  for (std::int64_t b = 0; b < B; ++b) {
    const std::int64_t n = static_cast<std::int64_t>(sequences[b].size());
    SequenceScores& row = out[b];
    for (std::int64_t begin = 0; begin < n - 1; begin += kScoreChunk) {
      const std::int64_t end = std::min(begin + kScoreChunk, n - 1);
      torch::Tensor logprobs =
          torch::log_softmax(model.logits(hidden[b].slice(0, begin, end)).to(torch::kFloat32), -1);
      torch::Tensor next = ids[b].slice(0, begin + 1, end + 1).unsqueeze(1);
      torch::Tensor picked =
          logprobs.gather(1, next).squeeze(1).to(torch::kCPU, torch::kFloat64).contiguous();
      torch::Tensor greedy =
          logprobs.argmax(-1).eq(next.squeeze(1)).to(torch::kCPU, torch::kUInt8).contiguous();
      const double* p = picked.data_ptr<double>();
      const std::uint8_t* g = greedy.data_ptr<std::uint8_t>();
      row.logprobs.insert(row.logprobs.end(), p, p + picked.numel());
      row.greedy.insert(row.greedy.end(), g, g + greedy.numel());
    }
  }
  return out;
}

std::vector<Engine::SequenceScores> Engine::score_continuations(
    const std::vector<TokenId>& context,
    const std::vector<std::vector<TokenId>>& continuations) const {
  std::vector<SequenceScores> out(continuations.size());
  if (continuations.empty()) return out;
  validate_tokens(context, impl_->config, "score_continuations");
  std::size_t longest = 0;
  for (const auto& c : continuations) {
    if (c.empty()) fail_input("score_continuations: empty continuation");
    std::vector<TokenId> whole(context);
    whole.insert(whole.end(), c.begin(), c.end());
    validate_tokens(whole, impl_->config, "score_continuations");
    longest = std::max(longest, c.size());
  }
  c10::InferenceMode inference;
  TransformerImpl& model = *impl_->model;
  const torch::Device device = model.device();
  const auto n_context = static_cast<std::int64_t>(context.size());
  // A full (not windowed) cache: each continuation rewinds to the context.
  KvCache cache(impl_->config, /*batch=*/1, n_context + static_cast<std::int64_t>(longest),
                torch::dtype(model.dtype()).device(device));
  torch::Tensor hidden = model.forward_hidden(ids_tensor(context, device), &cache, 0);  // (1, T, C)
  // log P(first continuation token | context), shared by all continuations.
  torch::Tensor first =
      torch::log_softmax(model.logits(hidden[0][n_context - 1]).to(torch::kFloat32), -1)
          .to(torch::kCPU)
          .contiguous();
  const float* first_lp = first.data_ptr<float>();
  const auto first_argmax = first.argmax().item<std::int64_t>();
  for (std::size_t i = 0; i < continuations.size(); ++i) {
    const std::vector<TokenId>& c = continuations[i];
    SequenceScores& row = out[i];
    row.logprobs.push_back(first_lp[c[0]]);
    row.greedy.push_back(first_argmax == c[0] ? 1 : 0);
    if (c.size() < 2) continue;
    // The continuation's tokens after the cached context; a later
    // continuation overwrites the cache positions past the context.
    const std::vector<TokenId> head(c.begin(), c.end() - 1);
    torch::Tensor h =
        model.forward_hidden(ids_tensor(head, device), &cache, n_context).select(0, 0);  // (L-1, C)
    torch::Tensor logprobs = torch::log_softmax(model.logits(h).to(torch::kFloat32), -1);
    torch::Tensor next =
        ids_tensor(std::vector<TokenId>(c.begin() + 1, c.end()), device).select(0, 0).unsqueeze(1);
    torch::Tensor picked =
        logprobs.gather(1, next).squeeze(1).to(torch::kCPU, torch::kFloat64).contiguous();
    torch::Tensor greedy =
        logprobs.argmax(-1).eq(next.squeeze(1)).to(torch::kCPU, torch::kUInt8).contiguous();
    row.logprobs.insert(row.logprobs.end(), picked.data_ptr<double>(),
                        picked.data_ptr<double>() + picked.numel());
    row.greedy.insert(row.greedy.end(), greedy.data_ptr<std::uint8_t>(),
                      greedy.data_ptr<std::uint8_t>() + greedy.numel());
  }
  return out;
}

std::vector<float> Engine::last_logits(const std::vector<TokenId>& tokens) const {
  validate_tokens(tokens, impl_->config, "logits");
  c10::InferenceMode inference;
  TransformerImpl& model = *impl_->model;
  torch::Tensor hidden = model.forward_hidden(ids_tensor(tokens, model.device()));
  torch::Tensor logits = model.logits(hidden.select(1, hidden.size(1) - 1)).select(0, 0);
  logits = logits.to(torch::kCPU, torch::kFloat32).contiguous();
  const float* p = logits.data_ptr<float>();
  return std::vector<float>(p, p + logits.numel());
}

GenerateResult Engine::generate(const std::vector<TokenId>& prompt, const GenerateOptions& options,
                                const std::function<void(std::string_view)>& on_text) const {
  if (!impl_->tokenizer) {
    fail_input(
        "generate: the model directory has no tokenizer (tokenizer.json or tokenizer.model)");
  }
  return generate_tokens(*impl_->model, *impl_->tokenizer, prompt, options, impl_->stop_ids,
                         on_text);
}

}  // namespace enclave
