#include "model/batch_decoder.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "model/generation.h"  // validate_tokens
#include "model/inference_model.h"
#include "model/lora.h"
#include "model/rope.h"
#include "model/transformer.h"

namespace enclave {

struct BatchDecoder::Impl : InferenceModel {
  std::shared_ptr<RotaryTables> rotary;
  int n_slots = 0;
  int max_len = 0;
  // Per layer: (n_slots, n_kv_head, capacity, head_dim) in the compute
  // dtype; capacity is max_len, or the window for a sliding layer whose
  // window is shorter (a ring: position p at p mod window).
  std::vector<torch::Tensor> k_cache;
  std::vector<torch::Tensor> v_cache;
  std::vector<bool> ring;
  std::vector<int> lengths;  // tokens cached per slot
  std::vector<bool> in_use;

  // The rows' tokens (N, T) sit at cache positions [starts[n], starts[n] + T)
  // of their slots; returns the final-norm hidden state of each row's last
  // position: (N, C).
  torch::Tensor forward(const std::vector<int>& slots, const torch::Tensor& tokens,
                        const std::vector<int>& starts);
  std::vector<float> logits_of(const torch::Tensor& last_hidden);
};

namespace {

torch::TensorOptions int64_on(const torch::Device& device) {
  return torch::TensorOptions().dtype(torch::kInt64).device(device);
}

}  // namespace

// Attention runs over the contiguous slot range [lo, hi) that holds every
// row, as views of the cache (no copy); slots in the range that are not rows
// get zero queries and see only key 0, and their outputs are dropped.
torch::Tensor BatchDecoder::Impl::forward(const std::vector<int>& slots,
                                          const torch::Tensor& tokens,
                                          const std::vector<int>& starts) {
  const torch::Device device = model->device();
  const std::int64_t N = tokens.size(0);
  const std::int64_t T = tokens.size(1);
  const std::int64_t n_head = config.n_head;
  const std::int64_t hd = config.head_dim;
  const int lo = *std::min_element(slots.begin(), slots.end());
  const int hi = *std::max_element(slots.begin(), slots.end()) + 1;
  const std::int64_t R = hi - lo;
  const int S = *std::max_element(starts.begin(), starts.end()) + static_cast<int>(T);
  bool dense = R == N;  // rows are exactly slots lo, lo+1, ... in order
  for (std::int64_t n = 0; dense && n < N; ++n) dense = slots[n] == lo + n;

  std::vector<std::int64_t> row_of_slot(R, -1);
  for (std::int64_t n = 0; n < N; ++n) row_of_slot[slots[n] - lo] = n;
  // Per range row: the position of its first query (inactive rows: 0, T = 1 pad).
  std::vector<std::int64_t> range_start(R, 0);
  for (std::int64_t n = 0; n < N; ++n) range_start[slots[n] - lo] = starts[n];
  torch::Tensor q_pos = torch::tensor(range_start, torch::kInt64).to(device).view({R, 1, 1, 1}) +
                        torch::arange(T, int64_on(device)).view({1, 1, T, 1});
  torch::Tensor k_pos = torch::arange(S, int64_on(device)).view({1, 1, 1, S});
  torch::Tensor active =
      torch::tensor(std::vector<std::int64_t>(row_of_slot.begin(), row_of_slot.end()),
                    torch::kInt64)
          .to(device)
          .view({R, 1, 1, 1}) >= 0;
  // mask: (R, 1, T, S) causal within each row's own sequence; a range row
  // that is not an input sees key 0 only, so its softmax has no empty row.
  torch::Tensor pad = active.logical_not() & (k_pos == 0);
  torch::Tensor causal = ((k_pos <= q_pos) & active) | pad;
  torch::Tensor window = causal;
  if (config.sliding_window) {
    window = ((k_pos <= q_pos) & ((q_pos - k_pos) < *config.sliding_window) & active) | pad;
  }

  torch::Tensor row_slots =
      torch::tensor(std::vector<std::int64_t>(slots.begin(), slots.end()), torch::kInt64)
          .to(device);
  torch::Tensor row_starts =
      torch::tensor(std::vector<std::int64_t>(starts.begin(), starts.end()), torch::kInt64)
          .to(device);
  torch::Tensor positions =
      row_starts.view({N, 1}) + torch::arange(T, int64_on(device)).view({1, T});  // (N, T)
  // HF picks longrope's factors per forward pass from its largest position.
  auto [cos, sin] = rotary->cos_sin(false, positions, model->dtype(), S);
  torch::Tensor local_cos, local_sin;
  if (rotary->has_local())
    std::tie(local_cos, local_sin) = rotary->cos_sin(true, positions, model->dtype(), S);
  torch::Tensor range_rows = (row_slots - lo).view({N});

  torch::Tensor x = model->embed(tokens);  // (N, T, C)
  std::int64_t index = 0;
  for (const auto& module : *model->model_->layers_) {
    auto* layer = module->as<DecoderLayerImpl>();
    auto& attn = *layer->self_attn_;
    auto [q, k, v] = attn.project(layer->attn_norm_(x), layer->local_rope ? local_cos : cos,
                                  layer->local_rope ? local_sin : sin);
    torch::Tensor& kc = k_cache[index];
    torch::Tensor& vc = v_cache[index];
    const std::int64_t cap = kc.size(2);
    torch::Tensor keys, values, layer_mask = layer->sliding ? window : causal;
    if (ring[index] && T > 1) {
      // Prefill of one row: its tokens see the W - 1 positions before them
      // (gathered from the ring in order) and each other; the last W are kept.
      ENCLAVE_CHECK(N == 1 && dense);
      const std::int64_t first = std::max<std::int64_t>(0, starts[0] - (cap - 1));
      torch::Tensor index_of = torch::arange(first, starts[0], int64_on(device)).remainder(cap);
      keys = torch::cat({kc[slots[0]].index_select(1, index_of).unsqueeze(0), k}, 2);
      values = torch::cat({vc[slots[0]].index_select(1, index_of).unsqueeze(0), v}, 2);
      layer_mask = layer_mask.slice(-1, first);
      const std::int64_t keep = std::max<std::int64_t>(starts[0], starts[0] + T - cap);
      write_ring(kc[slots[0]], k[0].slice(1, keep - starts[0]), 1, keep);
      write_ring(vc[slots[0]], v[0].slice(1, keep - starts[0]), 1, keep);
    } else if (ring[index]) {
      // One token per row at ring index start mod W. Index j then holds the
      // latest position congruent to j, all inside the window, so a key is
      // visible iff it was written: j <= position (or the ring has wrapped).
      using torch::indexing::Slice;
      torch::Tensor at = row_starts.remainder(cap);
      kc.index_put_({row_slots, Slice(), at}, k.squeeze(2));
      vc.index_put_({row_slots, Slice(), at}, v.squeeze(2));
      const std::int64_t width = std::min<std::int64_t>(cap, S);
      keys = kc.slice(0, lo, hi).slice(2, 0, width);
      values = vc.slice(0, lo, hi).slice(2, 0, width);
      torch::Tensor j = torch::arange(width, int64_on(device)).view({1, 1, 1, width});
      layer_mask = ((j <= q_pos) & active) | (active.logical_not() & (j == 0));
    } else {
      if (T == 1) {
        using torch::indexing::Slice;
        kc.index_put_({row_slots, Slice(), row_starts}, k.squeeze(2));
        vc.index_put_({row_slots, Slice(), row_starts}, v.squeeze(2));
      } else {
        for (std::int64_t n = 0; n < N; ++n) {
          kc[slots[n]].slice(1, starts[n], starts[n] + T).copy_(k[n]);
          vc[slots[n]].slice(1, starts[n], starts[n] + T).copy_(v[n]);
        }
      }
      keys = kc.slice(0, lo, hi).slice(2, 0, S);  // (R, n_kv, S, hd)
      values = vc.slice(0, lo, hi).slice(2, 0, S);
    }
    torch::Tensor q_range = q;
    if (!dense)
      q_range = torch::zeros({R, n_head, T, hd}, q.options()).index_copy_(0, range_rows, q);
    torch::Tensor out = attn.attend(q_range, keys, values, layer_mask);
    if (!dense) out = out.index_select(0, range_rows);
    x = layer->add_mlp(layer->add_attention(x, attn.output(out)));
    ++index;
  }
  return model->model_->norm_(x.select(1, T - 1));  // (N, C)
}

std::vector<float> BatchDecoder::Impl::logits_of(const torch::Tensor& last_hidden) {
  torch::Tensor logits = model->logits(last_hidden).to(torch::kCPU, torch::kFloat32).contiguous();
  const float* p = logits.data_ptr<float>();
  return std::vector<float>(p, p + logits.numel());
}

BatchDecoder::BatchDecoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BatchDecoder::~BatchDecoder() = default;

std::unique_ptr<BatchDecoder> BatchDecoder::load(const std::filesystem::path& dir,
                                                 const EngineOptions& engine,
                                                 const BatchDecoderOptions& options) {
  if (options.n_slots < 1)
    fail_input("batch decoder: n_slots must be >= 1, got {}", options.n_slots);
  EngineOptions with_adapter = engine;
  with_adapter.adapter = options.adapter.string();
  auto impl = std::make_unique<Impl>();
  static_cast<InferenceModel&>(*impl) =
      load_inference_model(dir, with_adapter, TokenizerFiles::kRequired);
  const ModelConfig& c = impl->config;
  if (options.max_len < 0 || options.max_len > c.max_position_embeddings) {
    fail_input("batch decoder: max_len {} must be in [0, {}] (the model's max_position_embeddings)",
               options.max_len, c.max_position_embeddings);
  }
  impl->n_slots = options.n_slots;
  // Published models declare contexts of 128k tokens; a cache that long for
  // every slot would not fit, so the default is what most requests need.
  impl->max_len =
      options.max_len > 0
          ? options.max_len
          : static_cast<int>(std::min<std::int64_t>(c.max_position_embeddings, kDefaultMaxLen));
  impl->lengths.assign(impl->n_slots, 0);
  impl->in_use.assign(impl->n_slots, false);

  c10::InferenceMode inference;
  const torch::Device device = impl->model->device();
  impl->rotary = std::make_shared<RotaryTables>(c);
  const auto cache_options = torch::dtype(impl->model->dtype()).device(device);
  std::int64_t positions = 0;  // cached positions per slot, over all layers
  try {
    for (std::int64_t i = 0; i < c.n_layer; ++i) {
      const bool ring = is_sliding_layer(c, i) && *c.sliding_window < impl->max_len;
      const std::int64_t cap = ring ? *c.sliding_window : impl->max_len;
      positions += cap;
      impl->ring.push_back(ring);
      impl->k_cache.push_back(
          torch::zeros({impl->n_slots, c.n_kv_head, cap, c.head_dim}, cache_options));
      impl->v_cache.push_back(
          torch::zeros({impl->n_slots, c.n_kv_head, cap, c.head_dim}, cache_options));
    }
  } catch (const std::exception&) {  // c10::Error or std::bad_alloc
    for (std::int64_t i = static_cast<std::int64_t>(impl->ring.size()); i < c.n_layer; ++i)
      positions += is_sliding_layer(c, i) ? std::min<std::int64_t>(*c.sliding_window, impl->max_len)
                                          : impl->max_len;
    const double gib = 2.0 * static_cast<double>(positions) * impl->n_slots * c.n_kv_head *
                       c.head_dim * static_cast<double>(torch::elementSize(impl->model->dtype())) /
                       (1024.0 * 1024.0 * 1024.0);
    fail(ErrorKind::kInvalidInput,
         "allocating the KV cache: {} slots x {} tokens need {:.1f} GiB on {}, which is not "
         "available; lower --ctx or --max-concurrency",
         impl->n_slots, impl->max_len, gib, device.str());
  }
  return std::unique_ptr<BatchDecoder>(new BatchDecoder(std::move(impl)));
}

const ModelConfig& BatchDecoder::config() const { return impl_->config; }
const Tokenizer& BatchDecoder::tokenizer() const { return *impl_->tokenizer; }
const std::optional<ChatTemplate>& BatchDecoder::chat_template() const {
  return impl_->chat_template;
}
const std::vector<TokenId>& BatchDecoder::stop_ids() const { return impl_->stop_ids; }
int BatchDecoder::n_slots() const { return impl_->n_slots; }
int BatchDecoder::max_len() const { return impl_->max_len; }

std::optional<int> BatchDecoder::acquire() {
  for (int s = 0; s < impl_->n_slots; ++s) {
    if (!impl_->in_use[s]) {
      impl_->in_use[s] = true;
      impl_->lengths[s] = 0;
      return s;
    }
  }
  return std::nullopt;
}

void BatchDecoder::release(int slot) {
  ENCLAVE_CHECK(slot >= 0 && slot < impl_->n_slots);
  impl_->in_use[slot] = false;
  impl_->lengths[slot] = 0;
}

int BatchDecoder::length(int slot) const {
  ENCLAVE_CHECK(slot >= 0 && slot < impl_->n_slots);
  return impl_->lengths[slot];
}

std::vector<float> BatchDecoder::prefill(int slot, std::span<const TokenId> prompt) {
  ENCLAVE_CHECK(slot >= 0 && slot < impl_->n_slots && impl_->in_use[slot]);
  validate_tokens(prompt, impl_->config, "prefill: prompt");
  if (static_cast<int>(prompt.size()) > impl_->max_len) {
    fail_input("prefill: prompt of {} tokens exceeds the context of {} tokens", prompt.size(),
               impl_->max_len);
  }
  c10::InferenceMode inference;
  const std::int64_t T = static_cast<std::int64_t>(prompt.size());
  torch::Tensor ids =
      torch::tensor(std::vector<std::int64_t>(prompt.begin(), prompt.end()), torch::kInt64)
          .view({1, T})
          .to(impl_->model->device());
  impl_->lengths[slot] = 0;
  std::vector<float> logits = impl_->logits_of(impl_->forward({slot}, ids, {0}));
  impl_->lengths[slot] = static_cast<int>(T);
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
    if (impl_->lengths[in.slot] >= impl_->max_len) {
      fail_input("step: slot {} is full ({} tokens, the context)", in.slot, impl_->max_len);
    }
    slots.push_back(in.slot);
    starts.push_back(impl_->lengths[in.slot]);
    tokens.push_back(in.token);
  }
  c10::InferenceMode inference;
  const std::int64_t N = static_cast<std::int64_t>(inputs.size());
  torch::Tensor ids = torch::tensor(tokens, torch::kInt64).view({N, 1}).to(impl_->model->device());
  std::vector<float> logits = impl_->logits_of(impl_->forward(slots, ids, starts));
  for (int s : slots) ++impl_->lengths[s];
  return logits;
}

}  // namespace enclave
