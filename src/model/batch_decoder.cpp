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
  // Per layer, in the compute dtype: K and V blocks of its pool,
  // (n_kv_head, n_blocks, kKvBlockSize, head_dim), heads first so that one
  // gather yields each row's keys as (n_kv_head, positions, head_dim).
  // Full-attention layers use `pool`; sliding-window layers shorter than
  // the context use `window_pool`, which holds only each sequence's window.
  std::vector<torch::Tensor> k_cache;
  std::vector<torch::Tensor> v_cache;
  std::vector<bool> windowed;
  std::unique_ptr<KvCachePool> pool;
  std::unique_ptr<KvCachePool> window_pool;  // null without windowed layers
  // Tokens one forward pass appends at most when there are windowed
  // layers (their pool holds a sequence's window plus this much).
  int chunk = std::numeric_limits<int>::max();
  std::vector<bool> in_use;
  std::shared_ptr<MultiLora> adapters;  // null without BatchDecoderOptions::adapters
  std::vector<int> slot_adapter;        // per slot: its sequence's adapter id
  std::int64_t block_bytes = 0;
  std::int64_t window_bytes = 0;
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
  void zero_blocks(bool in_window_pool, const std::vector<int>& blocks);
  // Starts a sequence in both pools with the prefix both have cached;
  // false (nothing changed) when either cannot hold it now.
  bool begin(int slot, std::span<const TokenId> prompt, int n_tokens, int adapter);
  // Appends tokens (at most `chunk`) to the slot's blocks in both pools.
  void grow(int slot, std::span<const TokenId> tokens);
  // After a forward pass wrote the slot's new keys: registers its full
  // blocks for the prefix cache and drops what its window no longer sees.
  void commit(int slot);
  // With the model in place: checks options, attaches their adapters and
  // allocates the KV pools.
  void set_up(const BatchDecoderOptions& options);
};

namespace {

// The most tokens one forward pass appends for a model with windowed layers.
constexpr int kMaxWindowChunk = 256;

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

// Where a forward pass reads and writes one pool's keys and values. The
// pools are read and written as rows of a flat view: K/V row (head *
// n_blocks + block) of (n_kv_head * n_blocks, bs * head_dim) is one block
// of one head, and row ((head * n_blocks + block) * bs + offset) of
// (n_kv_head * n_blocks * bs, head_dim) one position, so gathering and
// writing are index_select / index_copy_ of contiguous rows.
struct KeyTable {
  std::int64_t n_table = 0;  // blocks gathered per row
  torch::Tensor gather;      // (row, head, entry) -> block row: (N * n_kv * n_table)
  torch::Tensor scatter;     // (head, row, t) -> position row: (n_kv * N * T)
  torch::Tensor causal;      // (N, 1, T, n_table * bs): keys each token sees
  torch::Tensor window;      // causal, within the sliding window (when the model has one)
};

// Each row's blocks from the first one its first new token sees (0, or
// the start of its window when `window` > 0) to its last new position;
// shorter rows are padded with their last block, read but masked (it lies
// after every query).
KeyTable key_table(const KvCachePool& pool, std::int64_t window, const std::vector<int>& slots,
                   const std::vector<int>& starts, std::int64_t T, const torch::Tensor& q_pos,
                   std::optional<std::int64_t> sliding, std::int64_t n_kv) {
  const torch::Device device = q_pos.device();
  const std::int64_t N = static_cast<std::int64_t>(slots.size());
  const std::int64_t bs = kKvBlockSize;
  const std::int64_t n_blocks = pool.n_blocks();
  std::vector<std::int64_t> first(N), last(N);
  KeyTable out;
  for (std::int64_t n = 0; n < N; ++n) {
    first[n] = window > 0 ? std::max<std::int64_t>(0, starts[n] - window + 1) / bs : 0;
    last[n] = (starts[n] + T - 1) / bs;
    out.n_table = std::max(out.n_table, last[n] - first[n] + 1);
  }
  std::vector<std::int64_t> gather(static_cast<std::size_t>(N * n_kv * out.n_table));
  std::vector<std::int64_t> scatter(static_cast<std::size_t>(n_kv * N * T));
  std::vector<std::int64_t> key_start(N);
  for (std::int64_t n = 0; n < N; ++n) {
    const std::vector<int>& blocks = pool.blocks(slots[n]);
    key_start[n] = first[n] * bs;
    for (std::int64_t h = 0; h < n_kv; ++h) {
      for (std::int64_t i = 0; i < out.n_table; ++i) {
        const std::int64_t b = blocks[std::min(first[n] + i, last[n])];
        gather[(n * n_kv + h) * out.n_table + i] = h * n_blocks + b;
      }
      for (std::int64_t t = 0; t < T; ++t) {
        const std::int64_t p = starts[n] + t;
        scatter[(h * N + n) * T + t] = (h * n_blocks + blocks[p / bs]) * bs + p % bs;
      }
    }
  }
  out.gather = int64_tensor(gather, device);
  out.scatter = int64_tensor(scatter, device);
  torch::Tensor k_pos = int64_tensor(key_start, device).view({N, 1, 1, 1}) +
                        torch::arange(out.n_table * bs, int64_on(device)).view({1, 1, 1, -1});
  out.causal = k_pos <= q_pos;
  out.window = sliding ? out.causal & ((q_pos - k_pos) < *sliding) : out.causal;
  return out;
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
  const std::int64_t S = *std::max_element(starts.begin(), starts.end()) + T;
  const std::optional<std::int64_t> sliding = config.sliding_window;
  torch::Tensor row_starts =
      int64_tensor(std::vector<std::int64_t>(starts.begin(), starts.end()), device);
  // (N, 1, T, 1): each new token's position.
  torch::Tensor q_pos =
      row_starts.view({N, 1, 1, 1}) + torch::arange(T, int64_on(device)).view({1, 1, T, 1});
  const KeyTable full = key_table(*pool, 0, slots, starts, T, q_pos, sliding, n_kv);
  KeyTable window;
  if (window_pool)
    window = key_table(*window_pool, *sliding, slots, starts, T, q_pos, sliding, n_kv);

  torch::Tensor positions = q_pos.view({N, T});
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
    const KeyTable& table = windowed[index] ? window : full;
    // (N, n_kv, T, hd) -> (n_kv * N * T, hd) rows, in scatter's order.
    kc.view({-1, hd}).index_copy_(0, table.scatter, k.permute({1, 0, 2, 3}).reshape({-1, hd}));
    vc.view({-1, hd}).index_copy_(0, table.scatter, v.permute({1, 0, 2, 3}).reshape({-1, hd}));
    const std::int64_t n_keys = table.n_table * kKvBlockSize;
    torch::Tensor keys =
        kc.view({-1, kKvBlockSize * hd}).index_select(0, table.gather).view({N, n_kv, n_keys, hd});
    torch::Tensor values =
        vc.view({-1, kKvBlockSize * hd}).index_select(0, table.gather).view({N, n_kv, n_keys, hd});
    const torch::Tensor& layer_mask = layer->sliding ? table.window : table.causal;
    torch::Tensor out = attn.attend(q, keys, values, layer_mask);
    x = layer->add_mlp(layer->add_attention(x, attn.output(out)));
    ++index;
  }
  return model->model_->norm_(x.select(1, T - 1));  // (N, C)
}

KvPlace BatchDecoder::Impl::place(std::int64_t layer, int slot) const {
  const torch::Tensor& kc = k_cache[layer];
  // (n_kv_head, n_blocks, block, head_dim) through the slot's block table;
  // a windowed layer's table has -1 before its window, which the fused
  // step never reads (it reads a sliding layer's window only).
  return KvPlace{.k = kc.data_ptr(),
                 .v = v_cache[layer].data_ptr(),
                 .head_stride = kc.stride(0),
                 .blocks = (windowed[layer] ? window_pool : pool)->blocks(slot),
                 .block = kKvBlockSize};
}

std::vector<float> BatchDecoder::Impl::logits_of(const torch::Tensor& last_hidden) {
  torch::Tensor logits = model->logits(last_hidden).to(torch::kCPU, torch::kFloat32).contiguous();
  const float* p = logits.data_ptr<float>();
  return std::vector<float>(p, p + logits.numel());
}

void BatchDecoder::Impl::zero_blocks(bool in_window_pool, const std::vector<int>& blocks) {
  if (blocks.empty()) return;
  torch::Tensor index =
      int64_tensor(std::vector<std::int64_t>(blocks.begin(), blocks.end()), model->device());
  for (std::size_t i = 0; i < k_cache.size(); ++i) {
    if (windowed[i] != in_window_pool) continue;
    k_cache[i].index_fill_(1, index, 0);
    v_cache[i].index_fill_(1, index, 0);
  }
}

void BatchDecoder::Impl::grow(int slot, std::span<const TokenId> tokens) {
  zero_blocks(false, pool->grow(slot, tokens));
  if (window_pool) zero_blocks(true, window_pool->grow(slot, tokens));
}

bool BatchDecoder::Impl::begin(int slot, std::span<const TokenId> prompt, int n_tokens,
                               int adapter) {
  const auto salt = static_cast<std::uint64_t>(adapter);
  // With a window pool, the prefix both pools can serve: all of its blocks
  // in the full pool, the blocks of its last window in the windowed one.
  int cached = std::numeric_limits<int>::max();
  if (window_pool) {
    cached = window_pool->cached_prefix(
        prompt, salt, pool->cached_prefix(prompt, salt, std::numeric_limits<int>::max()));
    if (!window_pool->begin(slot, prompt, n_tokens, salt, cached)) return false;
  }
  if (!pool->begin(slot, prompt, n_tokens, salt, cached)) {
    if (window_pool) window_pool->end(slot);
    return false;
  }
  ENCLAVE_CHECK(!window_pool ||
                (pool->length(slot) == cached && window_pool->length(slot) == cached));
  in_use[slot] = true;
  return true;
}

void BatchDecoder::Impl::commit(int slot) {
  pool->commit(slot);
  if (!window_pool) return;
  window_pool->commit(slot);
  window_pool->forget_out_of_window(slot);
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
  std::int64_t n_windowed = 0;
  for (std::int64_t i = 0; i < c.n_layer; ++i) {
    windowed.push_back(is_sliding_layer(c, i) && *c.sliding_window < max_len);
    ++(windowed.back() ? n_windowed : n_pooled);
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
  // Windowed layers: a sequence holds its window plus one chunk (extend
  // splits longer prompts); blocks it has left behind stay cached until
  // taken. A chunk of 256 tokens keeps prefill's products large while
  // adding a quarter to a window of 1024 (Gemma 3), and less to longer
  // ones. The pool holds every slot's window at once (so it never makes a
  // sequence wait), or as many windows as the full pool holds sequences if
  // that is more; when every layer is windowed, what --kv-cache-mb buys.
  std::int64_t n_window_blocks = 0;
  if (n_windowed > 0) {
    const int window = static_cast<int>(*c.sliding_window);
    chunk = std::clamp(window, kKvBlockSize, kMaxWindowChunk);
    const std::int64_t cap = KvCachePool::held_cap(kKvBlockSize, window, chunk);
    const std::int64_t window_block_bytes = n_windowed * kKvBlockSize * position_bytes;
    const std::int64_t every_slot = n_slots * cap;
    n_window_blocks = options.kv_cache_bytes > 0 && block_bytes == 0
                          ? options.kv_cache_bytes / window_block_bytes
                          : std::max(every_slot, n_blocks * cap / seq_blocks);
    if (n_window_blocks < every_slot) {
      fail_input(
          "--kv-cache-mb {:.2f}: holds {} blocks of {} tokens, fewer than the windows of {} "
          "(--max-concurrency) sequences: {} tokens and a prefill chunk of {} each ({} blocks); "
          "raise --kv-cache-mb to at least {} or lower --max-concurrency",
          static_cast<double>(options.kv_cache_bytes) / (1 << 20), n_window_blocks, kKvBlockSize,
          n_slots, window, chunk, cap, (every_slot * window_block_bytes + (1 << 20) - 1) >> 20);
    }
    window_bytes = n_window_blocks * window_block_bytes;
  }
  const torch::Device device = model->device();
  const double total_gib = static_cast<double>(n_blocks * block_bytes + window_bytes) / (1 << 30);
  auto refuse = [&](std::string_view reason) {
    fail(ErrorKind::kInvalidInput,
         "allocating the KV cache: {:.2f} GiB for {} slots x {} tokens on {}: {}; lower "
         "--kv-cache-mb (default: what --ctx x --max-concurrency need)",
         total_gib, n_slots, max_len, device.str(), reason);
  };
  const std::optional<std::int64_t> available = device.is_cpu() ? memory_available() : std::nullopt;
  if (available && n_blocks * block_bytes + window_bytes > *available)
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
      const std::vector<std::int64_t> shape = {
          c.n_kv_head, windowed[i] ? n_window_blocks : n_blocks, kKvBlockSize, c.head_dim};
      k_cache.push_back(torch::empty(shape, cache_options));
      v_cache.push_back(torch::empty(shape, cache_options));
    }
  } catch (const std::exception&) {  // c10::Error or std::bad_alloc
    refuse("the allocation failed");
  }
  fused = FusedDecoder::create(*model);
  pool = std::make_unique<KvCachePool>(static_cast<int>(n_blocks), kKvBlockSize, n_slots,
                                       options.prefix_cache);
  if (n_window_blocks > 0) {
    window_pool =
        std::make_unique<KvCachePool>(static_cast<int>(n_window_blocks), kKvBlockSize, n_slots,
                                      options.prefix_cache, *c.sliding_window, chunk);
  }
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
    if (!impl_->begin(s, prompt, n_tokens, adapter)) return std::nullopt;
    impl_->slot_adapter[s] = adapter;
    return Admission{s, impl_->pool->length(s)};
  }
  return std::nullopt;
}

std::optional<int> BatchDecoder::acquire() {
  for (int s = 0; s < impl_->n_slots; ++s) {
    if (impl_->in_use[s]) continue;
    if (!impl_->begin(s, {}, impl_->max_len, 0)) return std::nullopt;
    impl_->slot_adapter[s] = 0;
    return s;
  }
  return std::nullopt;
}

void BatchDecoder::release(int slot) {
  ENCLAVE_CHECK(slot >= 0 && slot < impl_->n_slots);
  impl_->in_use[slot] = false;
  impl_->pool->end(slot);
  if (impl_->window_pool) impl_->window_pool->end(slot);
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
  std::vector<float> logits;
  // Windowed layers hold a window and one chunk per slot: longer prompts
  // go through in chunks (the same result as one pass).
  for (std::size_t at = 0; at < tokens.size(); at += impl_->chunk) {
    const std::span<const TokenId> part =
        tokens.subspan(at, std::min(tokens.size() - at, static_cast<std::size_t>(impl_->chunk)));
    const std::int64_t T = static_cast<std::int64_t>(part.size());
    logits = torch_step(fmt::format("prefill of {} tokens", T), [&] {
      impl_->grow(slot, part);
      torch::Tensor ids =
          torch::tensor(std::vector<std::int64_t>(part.begin(), part.end()), torch::kInt64)
              .view({1, T})
              .to(impl_->model->device());
      return impl_->logits_of(impl_->forward({slot}, ids, {start + static_cast<int>(at)}));
    });
    impl_->commit(slot);
  }
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
  std::vector<float> logits = torch_step(fmt::format("decoding step of {} sequences", N), [&] {
    for (const StepInput& in : inputs) impl_->grow(in.slot, std::span<const TokenId>(&in.token, 1));
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
  for (const StepInput& in : inputs) impl_->commit(in.slot);
  return logits;
}

BatchDecoder::CacheStats BatchDecoder::cache_stats() const {
  const KvCachePool& pool = *impl_->pool;
  CacheStats out;
  out.n_blocks = pool.n_blocks();
  out.n_blocks_used = pool.n_used();
  out.block_bytes = impl_->block_bytes;
  out.window_bytes = impl_->window_bytes;
  out.prefix_queried_tokens = pool.stats().queried_tokens;
  out.prefix_hit_tokens = pool.stats().hit_tokens;
  return out;
}

}  // namespace enclave
