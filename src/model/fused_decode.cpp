#include "model/fused_decode.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "model/dense_kernels.h"
#include "model/float_convert.h"

namespace enclave {
namespace {

// A weight matrix as the step reads it: dense rows or quantised blocks.
struct Matrix {
  const void* dense = nullptr;
  DenseType dense_type = DenseType::kF32;
  const QuantMatrix* quant = nullptr;
  std::int64_t rows = 0, cols = 0;
  std::vector<float> bias;  // empty: none
};

struct Layer {
  std::vector<float> attn_norm, attn_out_norm, mlp_norm, mlp_out_norm, q_norm, k_norm;
  std::vector<Matrix> qkv;      // q, k, v, or one fused matrix
  std::vector<Matrix> gate_up;  // gate, up, or one fused matrix
  Matrix o, down;
  bool sliding = false, local_rope = false;
};

// One product of a step: y = x W^T (bias added afterwards).
struct Product {
  const Matrix* w;
  const float* x;
  float* y;
};

std::vector<float> to_floats(const torch::Tensor& t) {
  const torch::Tensor f = t.to(torch::kCPU, torch::kFloat32).contiguous();
  return std::vector<float>(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
}

// The multiplier RMSNorm applies after normalising: w, or 1 + w in Gemma.
std::vector<float> norm_weights(const RMSNorm& norm) {
  if (!norm) return {};
  std::vector<float> w = to_floats(norm->weight_);
  if (norm->gemma_)
    for (float& v : w) v += 1.0f;
  return w;
}

bool matrix_of(const Linear& linear, Matrix& out) {
  if (linear->adapter_) return false;
  if (linear->bias_.defined()) out.bias = to_floats(linear->bias_);
  if (linear->quant_) {
    out.quant = linear->quant_.get();
    out.rows = out.quant->rows;
    out.cols = out.quant->cols;
    return true;
  }
  const torch::Tensor& w = linear->weight_;
  if (w.dim() != 2 || !w.is_contiguous() || !w.device().is_cpu()) return false;
  if (w.scalar_type() != torch::kFloat32 && w.scalar_type() != torch::kBFloat16) return false;
  out.dense = w.data_ptr();
  out.dense_type = w.scalar_type() == torch::kFloat32 ? DenseType::kF32 : DenseType::kBF16;
  out.rows = w.size(0);
  out.cols = w.size(1);
  return true;
}

void rms_norm(const float* x, std::int64_t n, const std::vector<float>& w, float eps, float* out) {
  float sum = 0;
  for (std::int64_t i = 0; i < n; ++i) sum += x[i] * x[i];
  const float scale = 1.0f / std::sqrt(sum / static_cast<float>(n) + eps);
  for (std::int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * w[i];
}

float gelu_tanh(float x) {
  constexpr float kC = 0.7978845608028654f;  // sqrt(2 / pi)
  return 0.5f * x * (1.0f + std::tanh(kC * (x + 0.044715f * x * x * x)));
}

bool fused_decode_enabled() {
  const char* env = std::getenv("ENCLAVE_FUSED_DECODE");
  return env == nullptr || std::string_view(env) != "0";
}

}  // namespace

struct FusedDecoder::Impl {
  ModelConfig config;
  const RotaryTables* rotary = nullptr;
  bool bf16_cache = false;
  float embed_scale = 1.0f;
  float attn_scale = 1.0f;
  Matrix embed, head;
  std::vector<Layer> layers;
  std::vector<float> final_norm;

  // Per step, for m rows (row-major, grown when m grows, never per token).
  std::int64_t m = 0;
  std::vector<float> x, h, qkv, k, v, heads, o, gate, up, logits, scores;
  std::vector<std::vector<float>> cos, sin, local_cos, local_sin;  // per row
  std::vector<std::int64_t> positions;
  std::vector<KvPlace> places;
  QuantizedRows xq;

  void resize(std::int64_t rows);
  void products(std::span<const Product> jobs);
  void rotary_tables(bool local, std::int64_t position, std::vector<float>& c,
                     std::vector<float>& s) const;
  void rope(float* vec, std::int64_t n_heads, const std::vector<float>& c,
            const std::vector<float>& s) const;
  void attention(const Layer& layer, std::int64_t index, const PlaceOf& place);
  template <typename T>
  void attend(const float* q, std::int64_t q_stride, bool sliding);
  void feed_forward(const Layer& layer);
};

namespace {

float widen(float v) { return v; }
float widen(std::uint16_t bits) {
  const std::uint32_t wide = static_cast<std::uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &wide, 4);
  return f;
}
void narrow(float v, float* out) { *out = v; }
void narrow(float v, std::uint16_t* out) { *out = f32_to_bf16(v); }

// Element offset of KV head g at position p in a place.
std::int64_t offset_of(const KvPlace& place, std::int64_t g, std::int64_t p, std::int64_t hd) {
  std::int64_t slot = p;
  if (place.ring > 0)
    slot = p % place.ring;
  else if (!place.blocks.empty())
    slot = place.blocks[p / place.block] * place.block + p % place.block;
  return g * place.head_stride + slot * hd;
}

}  // namespace

void FusedDecoder::Impl::resize(std::int64_t rows) {
  m = rows;
  const ModelConfig& c = config;
  const std::int64_t C = c.hidden_size, I = c.intermediate_size;
  const std::int64_t q_dim = c.n_head * c.head_dim, kv_dim = c.n_kv_head * c.head_dim;
  auto grow = [rows](std::vector<float>& buffer, std::int64_t per_row) {
    if (static_cast<std::int64_t>(buffer.size()) < rows * per_row) buffer.resize(rows * per_row);
  };
  grow(x, C);
  grow(h, std::max(C, I));
  grow(qkv, q_dim + 2 * kv_dim);
  grow(k, kv_dim);
  grow(v, kv_dim);
  grow(heads, q_dim);
  grow(o, C);
  grow(gate, 2 * I);
  grow(up, I);
  grow(logits, c.vocab_size);
  if (static_cast<std::int64_t>(cos.size()) < rows) {
    cos.resize(rows), sin.resize(rows), local_cos.resize(rows), local_sin.resize(rows);
    places.resize(rows);
  }
}

// Every job's output rows as one range, split evenly over the threads, for
// all m activation rows; the activations of quantised matrices are
// quantised once per distinct input.
void FusedDecoder::Impl::products(std::span<const Product> jobs) {
  const float* quantised_input = nullptr;
  std::int64_t total = 0;
  for (const Product& job : jobs) {
    total += job.w->rows;
    if (job.w->quant && job.x != quantised_input) {
      ENCLAVE_CHECK(quantised_input == nullptr);
      quantize_rows_q8(job.x, m, job.w->cols, xq);
      quantised_input = job.x;
    }
  }
  at::parallel_for(0, total, 16, [&](std::int64_t begin, std::int64_t end) {
    std::int64_t offset = 0;
    for (const Product& job : jobs) {
      const Matrix& w = *job.w;
      const std::int64_t lo = std::max(begin - offset, std::int64_t{0});
      const std::int64_t hi = std::min(end - offset, w.rows);
      if (lo < hi) {
        if (w.quant)
          quant_matmul_rows(w.quant->type, w.quant->data, xq, lo, hi, job.y, w.rows);
        else
          dense_matmul_rows(w.dense_type, w.dense, w.cols, job.x, m, lo, hi, job.y, w.rows);
      }
      offset += w.rows;
    }
  });
  for (const Product& job : jobs) {
    const std::vector<float>& b = job.w->bias;
    for (std::int64_t r = 0; r < m && !b.empty(); ++r)
      for (std::size_t i = 0; i < b.size(); ++i) job.y[r * job.w->rows + i] += b[i];
  }
}

// cos and sin of one position as RotaryTables::cos_sin computes them
// (float32 products, then the table's factor).
void FusedDecoder::Impl::rotary_tables(bool local, std::int64_t position, std::vector<float>& c,
                                       std::vector<float>& s) const {
  auto [inv_freq, factor] = rotary->table(local, position + 1);
  const float* f = inv_freq.data_ptr<float>();
  const std::int64_t half = inv_freq.numel();
  c.resize(2 * half);
  s.resize(2 * half);
  const float p = static_cast<float>(position);
  for (std::int64_t i = 0; i < half; ++i) {
    const float angle = p * f[i];
    float ci = std::cos(angle), si = std::sin(angle);
    if (factor != 1.0) {
      ci = static_cast<float>(ci * factor);
      si = static_cast<float>(si * factor);
    }
    c[i] = c[i + half] = ci;
    s[i] = s[i + half] = si;
  }
}

// x * cos + rotate_half(x) * sin over each head's first rotary_dim values.
void FusedDecoder::Impl::rope(float* vec, std::int64_t n_heads, const std::vector<float>& c,
                              const std::vector<float>& s) const {
  const std::int64_t half = static_cast<std::int64_t>(c.size()) / 2;
  for (std::int64_t head = 0; head < n_heads; ++head) {
    float* xh = vec + head * config.head_dim;
    for (std::int64_t i = 0; i < half; ++i) {
      const float a = xh[i], b = xh[i + half];
      xh[i] = a * c[i] - b * s[i];
      xh[i + half] = b * c[i + half] + a * s[i + half];
    }
  }
}

// Single-token attention of every (row, head) over the positions the row's
// token sees, threaded over (row, head); the cache is read in its dtype.
template <typename T>
void FusedDecoder::Impl::attend(const float* q, std::int64_t q_stride, bool sliding) {
  const std::int64_t hd = config.head_dim, n_head = config.n_head;
  const std::int64_t group = n_head / config.n_kv_head;
  const std::optional<double> softcap = config.attn_logit_softcapping;
  const std::int64_t window = config.sliding_window.value_or(0);
  std::int64_t longest = 0;
  for (std::int64_t r = 0; r < m; ++r) longest = std::max(longest, positions[r] + 1);
  if (static_cast<std::int64_t>(scores.size()) < m * n_head * longest)
    scores.resize(m * n_head * longest);
  at::parallel_for(0, m * n_head, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t task = begin; task < end; ++task) {
      const std::int64_t r = task / n_head, head = task % n_head, g = head / group;
      const KvPlace& place = places[r];
      const std::int64_t position = positions[r];
      const std::int64_t first = sliding ? std::max<std::int64_t>(0, position - (window - 1)) : 0;
      const std::int64_t n_pos = position + 1 - first;
      const T* kc = static_cast<const T*>(place.k);
      const T* vc = static_cast<const T*>(place.v);
      const float* qh = q + r * q_stride + head * hd;
      float* s = scores.data() + task * longest;
      float top = -INFINITY;
      for (std::int64_t j = 0; j < n_pos; ++j) {
        const T* key = kc + offset_of(place, g, first + j, hd);
        float dot = 0;
        for (std::int64_t i = 0; i < hd; ++i) dot += qh[i] * widen(key[i]);
        dot *= attn_scale;
        if (softcap) dot = static_cast<float>(std::tanh(dot / *softcap) * *softcap);
        s[j] = dot;
        top = std::max(top, dot);
      }
      float total = 0;
      for (std::int64_t j = 0; j < n_pos; ++j) total += s[j] = std::exp(s[j] - top);
      float* out = heads.data() + (r * n_head + head) * hd;
      std::fill(out, out + hd, 0.0f);
      for (std::int64_t j = 0; j < n_pos; ++j) {
        const T* value = vc + offset_of(place, g, first + j, hd);
        const float p = s[j] / total;
        for (std::int64_t i = 0; i < hd; ++i) out[i] += p * widen(value[i]);
      }
    }
  });
}

void FusedDecoder::Impl::attention(const Layer& layer, std::int64_t index, const PlaceOf& place) {
  const ModelConfig& c = config;
  const std::int64_t hd = c.head_dim, n_head = c.n_head, n_kv = c.n_kv_head;
  const float eps = static_cast<float>(c.rms_norm_eps);
  // A fused matrix writes each row's q, k and v one after another into qkv.
  const bool fused = layer.qkv.size() == 1;
  const std::int64_t q_stride = fused ? layer.qkv[0].rows : n_head * hd;
  const std::int64_t kv_stride = n_kv * hd;
  Product jobs[3] = {{&layer.qkv[0], h.data(), qkv.data()}, {}, {}};
  if (!fused) {
    jobs[1] = {&layer.qkv[1], h.data(), k.data()};
    jobs[2] = {&layer.qkv[2], h.data(), v.data()};
  }
  products(std::span<const Product>(jobs, layer.qkv.size()));
  for (std::int64_t r = 0; r < m; ++r) {
    float* qp = qkv.data() + r * q_stride;
    float* kp = fused ? qp + n_head * hd : k.data() + r * kv_stride;
    float* vp = fused ? kp + n_kv * hd : v.data() + r * kv_stride;
    if (!layer.q_norm.empty()) {
      for (std::int64_t i = 0; i < n_head; ++i)
        rms_norm(qp + i * hd, hd, layer.q_norm, eps, qp + i * hd);
      for (std::int64_t i = 0; i < n_kv; ++i)
        rms_norm(kp + i * hd, hd, layer.k_norm, eps, kp + i * hd);
    }
    const std::vector<float>& cr = layer.local_rope ? local_cos[r] : cos[r];
    const std::vector<float>& sr = layer.local_rope ? local_sin[r] : sin[r];
    rope(qp, n_head, cr, sr);
    rope(kp, n_kv, cr, sr);

    places[r] = place(index, r);
    const KvPlace& at = places[r];
    for (std::int64_t g = 0; g < n_kv; ++g) {
      const std::int64_t to = offset_of(at, g, positions[r], hd);
      for (std::int64_t i = 0; i < hd; ++i) {
        if (bf16_cache) {
          narrow(kp[g * hd + i], static_cast<std::uint16_t*>(at.k) + to + i);
          narrow(vp[g * hd + i], static_cast<std::uint16_t*>(at.v) + to + i);
        } else {
          narrow(kp[g * hd + i], static_cast<float*>(at.k) + to + i);
          narrow(vp[g * hd + i], static_cast<float*>(at.v) + to + i);
        }
      }
    }
  }
  const bool sliding = layer.sliding && c.sliding_window.has_value();
  if (bf16_cache)
    attend<std::uint16_t>(qkv.data(), q_stride, sliding);
  else
    attend<float>(qkv.data(), q_stride, sliding);

  const Product out_proj{&layer.o, heads.data(), o.data()};
  products({&out_proj, 1});
  const std::int64_t C = c.hidden_size;
  for (std::int64_t r = 0; r < m; ++r) {
    float* orow = o.data() + r * C;
    if (!layer.attn_out_norm.empty()) rms_norm(orow, C, layer.attn_out_norm, eps, orow);
    for (std::int64_t i = 0; i < C; ++i) x[r * C + i] += orow[i];
  }
}

void FusedDecoder::Impl::feed_forward(const Layer& layer) {
  const std::int64_t C = config.hidden_size, I = config.intermediate_size;
  const float eps = static_cast<float>(config.rms_norm_eps);
  for (std::int64_t r = 0; r < m; ++r)
    rms_norm(x.data() + r * C, C, layer.mlp_norm, eps, h.data() + r * C);
  // A fused matrix writes each row's gate then up into gate.
  const bool fused = layer.gate_up.size() == 1;
  if (fused) {
    const Product job{&layer.gate_up[0], h.data(), gate.data()};
    products({&job, 1});
  } else {
    const Product jobs[2] = {{&layer.gate_up[0], h.data(), gate.data()},
                             {&layer.gate_up[1], h.data(), up.data()}};
    products(jobs);
  }
  const bool silu = config.activation == Activation::kSilu;
  for (std::int64_t r = 0; r < m; ++r) {
    const float* g = gate.data() + r * (fused ? 2 * I : I);
    const float* u = fused ? g + I : up.data() + r * I;
    float* a = h.data() + r * I;  // h is free again: the activations, (m, I)
    for (std::int64_t i = 0; i < I; ++i)
      a[i] = (silu ? g[i] / (1.0f + std::exp(-g[i])) : gelu_tanh(g[i])) * u[i];
  }
  const Product down{&layer.down, h.data(), o.data()};
  products({&down, 1});
  for (std::int64_t r = 0; r < m; ++r) {
    float* orow = o.data() + r * C;
    if (!layer.mlp_out_norm.empty()) rms_norm(orow, C, layer.mlp_out_norm, eps, orow);
    for (std::int64_t i = 0; i < C; ++i) x[r * C + i] += orow[i];
  }
}

std::unique_ptr<FusedDecoder> FusedDecoder::create(TransformerImpl& model) {
  if (!fused_decode_enabled() || !model.device().is_cpu()) return nullptr;
  auto impl = std::make_unique<Impl>();
  Impl& m = *impl;
  m.config = model.config();
  const ModelConfig& c = m.config;
  m.rotary = &model.rotary();
  m.bf16_cache = model.dtype() == torch::kBFloat16;
  if (c.scale_embeddings) {
    const float s = static_cast<float>(std::sqrt(static_cast<double>(c.hidden_size)));
    m.embed_scale = m.bf16_cache ? bf16_to_f32(f32_to_bf16(s)) : s;
  }
  m.attn_scale = static_cast<float>(
      std::pow(c.query_pre_attn_scalar.value_or(static_cast<double>(c.head_dim)), -0.5));

  const Embedding& embedding = model.model_->embed_tokens_;
  if (embedding->quant_) {
    m.embed.quant = embedding->quant_.get();
  } else {
    const torch::Tensor& w = embedding->weight_;
    if (!w.is_contiguous() ||
        (w.scalar_type() != torch::kFloat32 && w.scalar_type() != torch::kBFloat16))
      return nullptr;
    m.embed.dense = w.data_ptr();
    m.embed.dense_type = w.scalar_type() == torch::kFloat32 ? DenseType::kF32 : DenseType::kBF16;
  }
  m.embed.rows = c.vocab_size;
  m.embed.cols = c.hidden_size;
  if (model.lm_head_) {
    if (!matrix_of(model.lm_head_, m.head)) return nullptr;
  } else {
    m.head = m.embed;
  }
  for (const auto& module : *model.model_->layers_) {
    const DecoderLayerImpl& block = *module->as<DecoderLayerImpl>();
    const AttentionImpl& attn = *block.self_attn_;
    Layer layer;
    layer.sliding = block.sliding;
    layer.local_rope = block.local_rope;
    layer.attn_norm = norm_weights(block.attn_norm_);
    layer.attn_out_norm = norm_weights(block.attn_out_norm_);
    layer.mlp_norm = norm_weights(block.mlp_norm_);
    layer.mlp_out_norm = norm_weights(block.mlp_out_norm_);
    layer.q_norm = norm_weights(attn.q_norm_);
    layer.k_norm = norm_weights(attn.k_norm_);
    for (const Linear& l : attn.qkv_proj_
                               ? std::vector<Linear>{attn.qkv_proj_}
                               : std::vector<Linear>{attn.q_proj_, attn.k_proj_, attn.v_proj_}) {
      if (!matrix_of(l, layer.qkv.emplace_back())) return nullptr;
    }
    const MlpImpl& mlp = *block.mlp_;
    for (const Linear& l : mlp.gate_up_ ? std::vector<Linear>{mlp.gate_up_}
                                        : std::vector<Linear>{mlp.gate_proj_, mlp.up_proj_}) {
      if (!matrix_of(l, layer.gate_up.emplace_back())) return nullptr;
    }
    if (!matrix_of(attn.o_proj_, layer.o) || !matrix_of(mlp.down_proj_, layer.down)) return nullptr;
    m.layers.push_back(std::move(layer));
  }
  m.final_norm = norm_weights(model.model_->norm_);
  m.resize(1);
  return std::unique_ptr<FusedDecoder>(new FusedDecoder(std::move(impl)));
}

FusedDecoder::FusedDecoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FusedDecoder::~FusedDecoder() = default;

std::span<const float> FusedDecoder::step(std::int64_t token, std::int64_t position,
                                          KvCache& cache) {
  ENCLAVE_CHECK(cache.batch() == 1);
  const std::int64_t hd = impl_->config.head_dim;
  return step_rows({&token, 1}, {&position, 1}, [&](std::int64_t layer, std::int64_t) {
    const std::int64_t capacity = cache.capacity(layer);
    cache.claim_slot(layer, position);
    return KvPlace{.k = cache.keys(layer).data_ptr(),
                   .v = cache.values(layer).data_ptr(),
                   .head_stride = capacity * hd,
                   .ring = cache.is_ring(layer) ? capacity : 0};
  });
}

std::span<const float> FusedDecoder::step_rows(std::span<const std::int64_t> tokens,
                                               std::span<const std::int64_t> positions,
                                               const PlaceOf& place) {
  Impl& m = *impl_;
  const ModelConfig& c = m.config;
  const std::int64_t rows = static_cast<std::int64_t>(tokens.size());
  ENCLAVE_CHECK(rows > 0 && positions.size() == tokens.size());
  m.resize(rows);
  m.positions.assign(positions.begin(), positions.end());
  const std::int64_t C = c.hidden_size;
  const float eps = static_cast<float>(c.rms_norm_eps);
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t token = tokens[r];
    ENCLAVE_CHECK(token >= 0 && token < c.vocab_size && positions[r] >= 0);
    float* xr = m.x.data() + r * C;
    if (m.embed.quant)
      dequantize_rows(m.embed.quant->type, m.embed.quant->data, C, token, token + 1, xr);
    else
      dense_row(m.embed.dense_type, m.embed.dense, C, token, xr);
    if (m.embed_scale != 1.0f)
      for (std::int64_t i = 0; i < C; ++i) xr[i] *= m.embed_scale;
    m.rotary_tables(false, positions[r], m.cos[r], m.sin[r]);
    if (m.rotary->has_local()) m.rotary_tables(true, positions[r], m.local_cos[r], m.local_sin[r]);
  }
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    const Layer& layer = m.layers[i];
    for (std::int64_t r = 0; r < rows; ++r)
      rms_norm(m.x.data() + r * C, C, layer.attn_norm, eps, m.h.data() + r * C);
    m.attention(layer, static_cast<std::int64_t>(i), place);
    m.feed_forward(layer);
  }
  for (std::int64_t r = 0; r < rows; ++r)
    rms_norm(m.x.data() + r * C, C, m.final_norm, eps, m.h.data() + r * C);
  const Product head{&m.head, m.h.data(), m.logits.data()};
  m.products({&head, 1});
  const std::span<float> logits(m.logits.data(), static_cast<std::size_t>(rows * c.vocab_size));
  if (c.final_logit_softcapping) {
    const double cap = *c.final_logit_softcapping;
    for (float& v : logits) v = static_cast<float>(std::tanh(v / cap) * cap);
  }
  return logits;
}

}  // namespace enclave
