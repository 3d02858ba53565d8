#include "model/batch_decoder.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <string>

#include "core/error.h"
#include "model/fused_decode.h"
#include "model/generation.h"  // validate_tokens
#include "model/inference_model.h"
#include "model/kv_cache.h"  // write_ring
#include "model/kv_cache_pool.h"
#include "model/lora.h"
#include "model/multi_lora.h"
#include "model/rope.h"
#include "model/transformer.h"

namespace enclave {

struct BatchDecoder::Impl : InferenceModel {
  std::shared_ptr<RotaryTables> rotary;
  int n_slots = 0;
  int max_len = 0;
  // Per layer, in the compute dtype: a pooled layer's K and V blocks,
  // (n_kv_head, n_blocks, kKvBlockSize, head_dim), heads first so that one
  // gather yields each row's keys as (n_kv_head, positions, head_dim); a
  // ring layer's window per slot, (n_slots, n_kv_head, window, head_dim),
  // position p at p mod window.
  std::vector<torch::Tensor> k_cache;
  std::vector<torch::Tensor> v_cache;
  std::vector<bool> ring;
  std::unique_ptr<KvCachePool> pool;
  std::vector<bool> in_use;
  std::shared_ptr<MultiLora> adapters;  // null without BatchDecoderOptions::adapters
  std::vector<int> slot_adapter;        // per slot: its sequence's adapter id
  std::int64_t block_bytes = 0;
  std::int64_t ring_bytes = 0;
  // Decoding steps without libtorch's dispatch; null where it does not
  // apply (adapters, a GPU; model/fused_decode.h).
  std::unique_ptr<FusedDecoder> fused;

  // Where a slot's keys and values lie in layer's storage, for the fused step.
  KvPlace place(std::int64_t layer, int slot) const;

  // The rows' tokens (N, T) sit at cache positions [starts[n], starts[n] + T)
  // of their slots, whose pool blocks already cover them; returns the
  // final-norm hidden state of each row's last position: (N, C).
  torch::Tensor forward(const std::vector<int>& slots, const torch::Tensor& tokens,
                        const std::vector<int>& starts);
  std::vector<float> logits_of(const torch::Tensor& last_hidden);
  // Blocks taken for the first time hold whatever memory held: zeroed, so a
  // masked key's value (weight exactly 0) is never NaN.
  void zero_blocks(const std::vector<int>& blocks);  // With the model in place: checks options,
                                                     // attaches their adapters and
  // allocates the KV pool and the rings.
  void set_up(const BatchDecoderOptions& options);
};

namespace {

torch::TensorOptions int64_on(const torch::Device& device) {
  return torch::TensorOptions().dtype(torch::kInt64).device(device);
}

torch::Tensor int64_tensor(const std::vector<std::int64_t>& values, const torch::Device& device) {
  return torch::tensor(values, torch::kInt64).to(device);
}

// Bytes this process may still take: MemAvailable, or less under a cgroup
// v2 memory limit; nullopt when neither can be read.
std::optional<std::int64_t> memory_available() {
  std::optional<std::int64_t> out;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::int64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") {
      out = kib * 1024;
      break;
    }
  }
  std::ifstream max_file("/sys/fs/cgroup/memory.max");
  std::ifstream current_file("/sys/fs/cgroup/memory.current");
  std::string max_text;
  std::int64_t current = 0;
  if (max_file >> max_text && max_text != "max" && current_file >> current) {
    const std::int64_t left = std::max<std::int64_t>(0, std::stoll(max_text) - current);
    out = out ? std::min(*out, left) : left;
  }
  return out;
}

// Runs torch work, turning libtorch's failures (a multi-line c10::Error
// with a stack trace, std::bad_alloc) into one line that says what was
// being done and which flags change it.
template <typename F>
auto torch_step(std::string_view what, F&& work) {
  constexpr std::string_view kMemoryHint =
      "out of memory; lower --prefill-chunk, --max-concurrency or --kv-cache-mb";
  try {
    return work();
  } catch (const c10::Error& e) {
    std::string message = e.what_without_backtrace();
    message = message.substr(0, message.find('\n'));
    if (message.find("alloc") != std::string::npos ||
        message.find("out of memory") != std::string::npos) {
      fail(ErrorKind::kInvalidInput, "{}: {} ({})", what, kMemoryHint, message);
    }
    fail(ErrorKind::kInternal, "{}: {}", what, message);
  } catch (const std::bad_alloc&) {
    fail(ErrorKind::kInvalidInput, "{}: {}", what, kMemoryHint);
  }
}

// The options checked before a model is loaded or shared.
void check_sizes(const BatchDecoderOptions& options) {
  if (options.n_slots < 1)
    fail_input("batch decoder: n_slots must be >= 1, got {}", options.n_slots);
  if (options.kv_cache_bytes < 0)
    fail_input("--kv-cache-mb: must be >= 0, got {} bytes", options.kv_cache_bytes);
}

}  // namespace

torch::Tensor BatchDecoder::Impl::forward(const std::vector<int>& slots,
                                          const torch::Tensor& tokens,
                                          const std::vector<int>& starts) {
  const torch::Device device = model->device();
  const std::int64_t N = tokens.size(0);
  const std::int64_t T = tokens.size(1);
  const std::int64_t n_kv = config.n_kv_head;
  const std::int64_t hd = config.head_dim;
  const std::int64_t bs = kKvBlockSize;
  const std::int64_t S = *std::max_element(starts.begin(), starts.end()) + T;
  const std::int64_t n_table = (S + bs - 1) / bs;
  const std::int64_t S_pad = n_table * bs;  // keys gathered per row, whole blocks

  // The pools are read and written as rows of a flat view: K/V row (head *
  // n_blocks + block) of (n_kv_head * n_blocks, bs * head_dim) is one
  // block of one head, and row ((head * n_blocks + block) * bs + offset) of
  // (n_kv_head * n_blocks * bs, head_dim) one position, so gathering and
  // writing are index_select / index_copy_ of contiguous rows.
  // gather: each row's block table up to n_table (padded with its first
  // block, read but masked), for (row, head, entry): (N * n_kv * n_table).
  // scatter: where each new token goes, for (head, row, t): (n_kv * N * T).
  const std::int64_t n_blocks = pool->n_blocks();
  std::vector<std::int64_t> gather(static_cast<std::size_t>(N * n_kv * n_table));
  std::vector<std::int64_t> scatter(static_cast<std::size_t>(n_kv * N * T));
  for (std::int64_t n = 0; n < N; ++n) {
    const std::vector<int>& blocks = pool->blocks(slots[n]);
    for (std::int64_t h = 0; h < n_kv; ++h) {
      for (std::int64_t i = 0; i < n_table; ++i) {
        const std::int64_t b = blocks[i < static_cast<std::int64_t>(blocks.size()) ? i : 0];
        gather[(n * n_kv + h) * n_table + i] = h * n_blocks + b;
      }
      for (std::int64_t t = 0; t < T; ++t) {
        const std::int64_t p = starts[n] + t;
        scatter[(h * N + n) * T + t] = (h * n_blocks + blocks[p / bs]) * bs + p % bs;
      }
    }
  }
  torch::Tensor gather_rows = int64_tensor(gather, device);
  torch::Tensor scatter_rows = int64_tensor(scatter, device);

  torch::Tensor row_starts =
      int64_tensor(std::vector<std::int64_t>(starts.begin(), starts.end()), device);
  torch::Tensor row_slots =
      int64_tensor(std::vector<std::int64_t>(slots.begin(), slots.end()), device);
  // mask: (N, 1, T, S_pad), causal within each row's own sequence.
  torch::Tensor q_pos =
      row_starts.view({N, 1, 1, 1}) + torch::arange(T, int64_on(device)).view({1, 1, T, 1});
  torch::Tensor k_pos = torch::arange(S_pad, int64_on(device)).view({1, 1, 1, S_pad});
  torch::Tensor causal = k_pos <= q_pos;
  torch::Tensor window = causal;
  if (config.sliding_window) window = causal & ((q_pos - k_pos) < *config.sliding_window);

  torch::Tensor positions =
      row_starts.view({N, 1}) + torch::arange(T, int64_on(device)).view({1, T});  // (N, T)
  // HF picks longrope's factors per forward pass from its largest position.
  auto [cos, sin] = rotary->cos_sin(false, positions, model->dtype(), S);
  torch::Tensor local_cos, local_sin;
  if (rotary->has_local())
    std::tie(local_cos, local_sin) = rotary->cos_sin(true, positions, model->dtype(), S);

  if (adapters) {
    std::vector<int> row_adapters;
    for (int slot : slots) row_adapters.push_back(slot_adapter[slot]);
    adapters->set_rows(row_adapters);
  }

  torch::Tensor x = model->embed(tokens);  // (N, T, C)
  std::int64_t index = 0;
  for (const auto& module : *model->model_->layers_) {
    auto* layer = module->as<DecoderLayerImpl>();
    auto& attn = *layer->self_attn_;
    auto [q, k, v] = attn.project(layer->attn_norm_(x), layer->local_rope ? local_cos : cos,
                                  layer->local_rope ? local_sin : sin);
    torch::Tensor& kc = k_cache[index];
    torch::Tensor& vc = v_cache[index];
    torch::Tensor keys, values, layer_mask = layer->sliding ? window : causal;
    if (ring[index] && T > 1) {
      // A prompt (chunk) of one row: its tokens see the W - 1 positions
      // before them (gathered from the ring in order) and each other; the
      // last W are kept.
      ENCLAVE_CHECK(N == 1);
      const std::int64_t cap = kc.size(2);
      const std::int64_t first = std::max<std::int64_t>(0, starts[0] - (cap - 1));
      torch::Tensor index_of = torch::arange(first, starts[0], int64_on(device)).remainder(cap);
      keys = torch::cat({kc[slots[0]].index_select(1, index_of).unsqueeze(0), k}, 2);
      values = torch::cat({vc[slots[0]].index_select(1, index_of).unsqueeze(0), v}, 2);
      layer_mask = layer_mask.slice(-1, first, S);
      const std::int64_t keep = std::max<std::int64_t>(starts[0], starts[0] + T - cap);
      write_ring(kc[slots[0]], k[0].slice(1, keep - starts[0]), 1, keep);
      write_ring(vc[slots[0]], v[0].slice(1, keep - starts[0]), 1, keep);
    } else if (ring[index]) {
      // One token per row at ring index start mod W. Index j then holds the
      // latest position congruent to j, all inside the window, so a key is
      // visible iff it was written: j <= position (or the ring has wrapped).
      using torch::indexing::Slice;
      const std::int64_t width = std::min<std::int64_t>(kc.size(2), S);
      torch::Tensor at = row_starts.remainder(kc.size(2));
      kc.index_put_({row_slots, Slice(), at}, k.squeeze(2));
      vc.index_put_({row_slots, Slice(), at}, v.squeeze(2));
      keys = kc.slice(2, 0, width).index_select(0, row_slots);
      values = vc.slice(2, 0, width).index_select(0, row_slots);
      layer_mask = torch::arange(width, int64_on(device)).view({1, 1, 1, width}) <= q_pos;
    } else {
      // (N, n_kv, T, hd) -> (n_kv * N * T, hd) rows, in scatter's order.
      kc.view({-1, hd}).index_copy_(0, scatter_rows, k.permute({1, 0, 2, 3}).reshape({-1, hd}));
      vc.view({-1, hd}).index_copy_(0, scatter_rows, v.permute({1, 0, 2, 3}).reshape({-1, hd}));
      keys = kc.view({-1, bs * hd}).index_select(0, gather_rows).view({N, n_kv, S_pad, hd});
      values = vc.view({-1, bs * hd}).index_select(0, gather_rows).view({N, n_kv, S_pad, hd});
    }
    torch::Tensor out = attn.attend(q, keys, values, layer_mask);
    x = layer->add_mlp(layer->add_attention(x, attn.output(out)));
    ++index;
  }
  return model->model_->norm_(x.select(1, T - 1));  // (N, C)
}

KvPlace BatchDecoder::Impl::place(std::int64_t layer, int slot) const {
  const torch::Tensor& kc = k_cache[layer];
  const torch::Tensor& vc = v_cache[layer];
  if (ring[layer]) {
    // (n_slots, n_kv_head, window, head_dim): the slot's own window.
    const std::int64_t bytes = slot * kc.stride(0) * kc.element_size();
    return KvPlace{.k = static_cast<char*>(kc.data_ptr()) + bytes,
                   .v = static_cast<char*>(vc.data_ptr()) + bytes,
                   .head_stride = kc.stride(1),
                   .ring = kc.size(2)};
  }
  // (n_kv_head, n_blocks, block, head_dim) through the slot's block table.
  return KvPlace{.k = kc.data_ptr(),
                 .v = vc.data_ptr(),
                 .head_stride = kc.stride(0),
                 .blocks = pool->blocks(slot),
                 .block = kKvBlockSize};
}

std::vector<float> BatchDecoder::Impl::logits_of(const torch::Tensor& last_hidden) {
  torch::Tensor logits = model->logits(last_hidden).to(torch::kCPU, torch::kFloat32).contiguous();
  const float* p = logits.data_ptr<float>();
  return std::vector<float>(p, p + logits.numel());
}

void BatchDecoder::Impl::zero_blocks(const std::vector<int>& blocks) {
  if (blocks.empty()) return;
  torch::Tensor index =
      int64_tensor(std::vector<std::int64_t>(blocks.begin(), blocks.end()), model->device());
  for (std::size_t i = 0; i < k_cache.size(); ++i) {
    if (ring[i]) continue;
    k_cache[i].index_fill_(1, index, 0);
    v_cache[i].index_fill_(1, index, 0);
  }
}

BatchDecoder::BatchDecoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BatchDecoder::~BatchDecoder() = default;

std::unique_ptr<BatchDecoder> BatchDecoder::load(const std::filesystem::path& dir,
                                                 const EngineOptions& engine,
                                                 const BatchDecoderOptions& options) {
  check_sizes(options);
  EngineOptions with_adapter = engine;
  with_adapter.adapter = options.adapter.string();
  auto impl = std::make_unique<Impl>();
  static_cast<InferenceModel&>(*impl) =
      load_inference_model(dir, with_adapter, TokenizerFiles::kRequired);
  impl->set_up(options);
  return std::unique_ptr<BatchDecoder>(new BatchDecoder(std::move(impl)));
}

std::unique_ptr<BatchDecoder> BatchDecoder::from_engine(const Engine& engine,
                                                        const BatchDecoderOptions& options) {
  check_sizes(options);
  if (!options.adapter.empty() || !options.adapters.empty())
    fail_input("batch decoder: a decoder over a loaded model uses the model's own adapter");
  const InferenceModel& model = inference_model_of(engine);
  if (!model.tokenizer) {
    fail_input(
        "batch decoder: the model directory has no tokenizer (tokenizer.json or tokenizer.model)");
  }
  auto impl = std::make_unique<Impl>();
  // Copies of the holders: the module tree (weights, attached adapter) and
  // the tokenizer are shared, not copied.
  static_cast<InferenceModel&>(*impl) = model;
  impl->set_up(options);
  return std::unique_ptr<BatchDecoder>(new BatchDecoder(std::move(impl)));
}

void BatchDecoder::Impl::set_up(const BatchDecoderOptions& options) {
  const ModelConfig& c = config;
  if (options.max_len < 0 || options.max_len > c.max_position_embeddings) {
    fail_input("batch decoder: max_len {} must be in [0, {}] (the model's max_position_embeddings)",
               options.max_len, c.max_position_embeddings);
  }
  n_slots = options.n_slots;
  // Published models declare contexts of 128k tokens; a cache that long for
  // every slot would not fit, so the default is what most requests need.
  max_len =
      options.max_len > 0
          ? options.max_len
          : static_cast<int>(std::min<std::int64_t>(c.max_position_embeddings, kDefaultMaxLen));
  in_use.assign(n_slots, false);
  slot_adapter.assign(n_slots, 0);
  if (!options.adapters.empty()) {
    if (!options.adapter.empty())
      fail_input("batch decoder: give one adapter or a batch of adapters, not both");
    adapters = MultiLora::attach(*model, options.adapters);
  }

  // Sizes first, so a cache that cannot fit is refused before anything is
  // allocated (a CPU allocation may succeed and be killed later on use).
  const std::int64_t element = static_cast<std::int64_t>(torch::elementSize(model->dtype()));
  const std::int64_t position_bytes = 2 * c.n_kv_head * c.head_dim * element;  // K and V
  std::int64_t n_pooled = 0;
  for (std::int64_t i = 0; i < c.n_layer; ++i) {
    const bool is_ring = is_sliding_layer(c, i) && *c.sliding_window < max_len;
    ring.push_back(is_ring);
    if (is_ring) {
      ring_bytes += n_slots * *c.sliding_window * position_bytes;
    } else {
      ++n_pooled;
    }
  }
  block_bytes = n_pooled * kKvBlockSize * position_bytes;
  const std::int64_t seq_blocks = (max_len + kKvBlockSize - 1) / kKvBlockSize;
  const std::int64_t n_blocks = options.kv_cache_bytes > 0 && block_bytes > 0
                                    ? options.kv_cache_bytes / block_bytes
                                    : n_slots * seq_blocks;
  if (n_blocks < seq_blocks) {
    fail_input(
        "--kv-cache-mb {:.2f}: holds {} tokens ({} blocks of {}), fewer than one sequence of {} "
        "tokens (--ctx); raise --kv-cache-mb to at least {} or lower --ctx",
        static_cast<double>(options.kv_cache_bytes) / (1 << 20), n_blocks * kKvBlockSize, n_blocks,
        kKvBlockSize, max_len, (seq_blocks * block_bytes + (1 << 20) - 1) >> 20);
  }
  const torch::Device device = model->device();
  const double total_gib = static_cast<double>(n_blocks * block_bytes + ring_bytes) / (1 << 30);
  auto refuse = [&](std::string_view reason) {
    fail(ErrorKind::kInvalidInput,
         "allocating the KV cache: {:.2f} GiB for {} slots x {} tokens on {}: {}; lower "
         "--kv-cache-mb (default: what --ctx x --max-concurrency need)",
         total_gib, n_slots, max_len, device.str(), reason);
  };
  const std::optional<std::int64_t> available = device.is_cpu() ? memory_available() : std::nullopt;
  if (available && n_blocks * block_bytes + ring_bytes > *available)
    refuse(fmt::format("only {:.2f} GiB of memory is available",
                       static_cast<double>(*available) / (1 << 30)));
  if (n_blocks > std::numeric_limits<int>::max() / 2) refuse("too many blocks");

  c10::InferenceMode inference;
  rotary = std::make_shared<RotaryTables>(c);
  const auto cache_options = torch::dtype(model->dtype()).device(device);
  try {
    for (std::int64_t i = 0; i < c.n_layer; ++i) {
      // Pool blocks are zeroed when first taken (zero_blocks): untouched
      // pages of a large pool cost no memory until sequences need them.
      const std::vector<std::int64_t> shape =
          ring[i] ? std::vector<std::int64_t>{n_slots, c.n_kv_head, *c.sliding_window, c.head_dim}
                  : std::vector<std::int64_t>{c.n_kv_head, n_blocks, kKvBlockSize, c.head_dim};
      k_cache.push_back(ring[i] ? torch::zeros(shape, cache_options)
                                : torch::empty(shape, cache_options));
      v_cache.push_back(ring[i] ? torch::zeros(shape, cache_options)
                                : torch::empty(shape, cache_options));
    }
  } catch (const std::exception&) {  // c10::Error or std::bad_alloc
    refuse("the allocation failed");
  }
  fused = FusedDecoder::create(*model);
  const bool has_ring = std::find(ring.begin(), ring.end(), true) != ring.end();
  pool = std::make_unique<KvCachePool>(static_cast<int>(n_blocks), kKvBlockSize, n_slots,
                                       options.prefix_cache && !has_ring);
}

const ModelConfig& BatchDecoder::config() const { return impl_->config; }
const Tokenizer& BatchDecoder::tokenizer() const { return *impl_->tokenizer; }
const std::optional<ChatTemplate>& BatchDecoder::chat_template() const {
  return impl_->chat_template;
}
const std::vector<TokenId>& BatchDecoder::stop_ids() const { return impl_->stop_ids; }
int BatchDecoder::n_slots() const { return impl_->n_slots; }
int BatchDecoder::max_len() const { return impl_->max_len; }

int BatchDecoder::n_adapters() const { return impl_->adapters ? impl_->adapters->n_adapters() : 0; }

std::optional<BatchDecoder::Admission> BatchDecoder::admit(std::span<const TokenId> prompt,
                                                           int n_tokens, int adapter) {
  validate_tokens(prompt, impl_->config, "prefill: prompt");
  if (adapter < 0 || adapter > n_adapters())
    fail_input("admit: adapter {} is not in [0, {}]", adapter, n_adapters());
  if (n_tokens < static_cast<int>(prompt.size()) || n_tokens > impl_->max_len) {
    fail_input("admit: {} tokens must be in [{} (the prompt), {} (the context)]", n_tokens,
               prompt.size(), impl_->max_len);
  }
  for (int s = 0; s < impl_->n_slots; ++s) {
    if (impl_->in_use[s]) continue;
    std::optional<int> cached =
        impl_->pool->begin(s, prompt, n_tokens, static_cast<std::uint64_t>(adapter));
    if (!cached) return std::nullopt;
    impl_->in_use[s] = true;
    impl_->slot_adapter[s] = adapter;
    return Admission{s, *cached};
  }
  return std::nullopt;
}

std::optional<int> BatchDecoder::acquire() {
  for (int s = 0; s < impl_->n_slots; ++s) {
    if (impl_->in_use[s]) continue;
    if (!impl_->pool->begin(s, {}, impl_->max_len)) return std::nullopt;
    impl_->in_use[s] = true;
    impl_->slot_adapter[s] = 0;
    return s;
  }
  return std::nullopt;
}

void BatchDecoder::release(int slot) {
  ENCLAVE_CHECK(slot >= 0 && slot < impl_->n_slots);
  impl_->in_use[slot] = false;
  impl_->pool->end(slot);
}

int BatchDecoder::length(int slot) const {
  ENCLAVE_CHECK(slot >= 0 && slot < impl_->n_slots);
  return impl_->pool->length(slot);
}

std::vector<float> BatchDecoder::prefill(int slot, std::span<const TokenId> prompt) {
  ENCLAVE_CHECK(slot >= 0 && slot < impl_->n_slots && impl_->pool->length(slot) == 0);
  return extend(slot, prompt);
}

std::vector<float> BatchDecoder::extend(int slot, std::span<const TokenId> tokens) {
  ENCLAVE_CHECK(slot >= 0 && slot < impl_->n_slots && impl_->in_use[slot]);
  validate_tokens(tokens, impl_->config, "prefill: prompt");
  const int start = impl_->pool->length(slot);
  if (start + static_cast<int>(tokens.size()) > impl_->max_len) {
    fail_input("prefill: prompt of {} tokens exceeds the context of {} tokens",
               start + static_cast<int>(tokens.size()), impl_->max_len);
  }
  c10::InferenceMode inference;
  const std::int64_t T = static_cast<std::int64_t>(tokens.size());
  std::vector<float> logits = torch_step(fmt::format("prefill of {} tokens", T), [&] {
    impl_->zero_blocks(impl_->pool->grow(slot, tokens));
    torch::Tensor ids =
        torch::tensor(std::vector<std::int64_t>(tokens.begin(), tokens.end()), torch::kInt64)
            .view({1, T})
            .to(impl_->model->device());
    return impl_->logits_of(impl_->forward({slot}, ids, {start}));
  });
  impl_->pool->commit(slot);
  return logits;
}

std::vector<float> BatchDecoder::step(std::span<const StepInput> inputs) {
  if (inputs.empty()) return {};
  std::vector<int> slots;
  std::vector<int> starts;
  std::vector<std::int64_t> tokens;
  std::vector<bool> seen(impl_->n_slots, false);
  for (const StepInput& in : inputs) {
    ENCLAVE_CHECK(in.slot >= 0 && in.slot < impl_->n_slots && impl_->in_use[in.slot] &&
                  !seen[in.slot]);
    seen[in.slot] = true;
    if (in.token < 0 || in.token >= impl_->config.vocab_size) {
      fail_input("step: token {} is outside the vocabulary [0, {})", in.token,
                 impl_->config.vocab_size);
    }
    if (impl_->pool->length(in.slot) >= impl_->max_len) {
      fail_input("step: slot {} is full ({} tokens, the context)", in.slot, impl_->max_len);
    }
    slots.push_back(in.slot);
    starts.push_back(impl_->pool->length(in.slot));
    tokens.push_back(in.token);
  }
  c10::InferenceMode inference;
  const std::int64_t N = static_cast<std::int64_t>(inputs.size());
  return torch_step(fmt::format("decoding step of {} sequences", N), [&] {
    for (const StepInput& in : inputs)
      impl_->zero_blocks(impl_->pool->grow(in.slot, std::span<const TokenId>(&in.token, 1)));
    if (impl_->fused) {
      const std::vector<std::int64_t> positions(starts.begin(), starts.end());
      const std::span<const float> logits = impl_->fused->step_rows(
          tokens, positions,
          [&](std::int64_t layer, std::int64_t row) { return impl_->place(layer, slots[row]); });
      return std::vector<float>(logits.begin(), logits.end());
    }
    torch::Tensor ids =
        torch::tensor(tokens, torch::kInt64).view({N, 1}).to(impl_->model->device());
    return impl_->logits_of(impl_->forward(slots, ids, starts));
  });
}

BatchDecoder::CacheStats BatchDecoder::cache_stats() const {
  const KvCachePool& pool = *impl_->pool;
  CacheStats out;
  out.n_blocks = pool.n_blocks();
  out.n_blocks_used = pool.n_used();
  out.block_bytes = impl_->block_bytes;
  out.ring_bytes = impl_->ring_bytes;
  out.prefix_queried_tokens = pool.stats().queried_tokens;
  out.prefix_hit_tokens = pool.stats().hit_tokens;
  return out;
}

}  // namespace enclave
