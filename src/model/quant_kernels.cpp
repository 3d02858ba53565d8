#include "model/quant_kernels.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "model/float_convert.h"
#include "model/gguf_reader.h"
#include "model/gguf_writer.h"
#include "model/quant_kernels_isa.h"

namespace enclave {
namespace {

std::atomic<int> g_isa{-1};  // -1: not chosen yet

float scale_at(const std::uint8_t* block) {
  std::uint16_t h;
  std::memcpy(&h, block, 2);
  return f16_to_f32(h);
}

// The scalar paths: the fast paths' arithmetic, one product at a time.
// Each returns output n's dot product with one row of x (xq codes, block
// scales d8 and sums s8 as in QuantizedRows).
float dot_q8_0_q4_0(QuantType type, const std::uint8_t* row, std::int64_t nb, const std::int8_t* xq,
                    const float* d8) {
  const std::int64_t bytes = quant_block_bytes(type);
  float sum = 0;
  for (std::int64_t b = 0; b < nb; ++b) {
    const std::uint8_t* block = row + b * bytes;
    const std::int8_t* xb = xq + b * kQuantBlock;
    const float dx = d8[b * 8];
    std::int32_t dot = 0;
    if (type == QuantType::kQ8_0) {
      for (int i = 0; i < 32; ++i) dot += static_cast<std::int8_t>(block[2 + i]) * xb[i];
      sum += scale_at(block) * dx * static_cast<float>(dot);
    } else {
      std::int32_t xsum = 0;
      for (int i = 0; i < 16; ++i) {
        dot += (block[2 + i] & 0x0F) * xb[i] + (block[2 + i] >> 4) * xb[16 + i];
      }
      for (int i = 0; i < 32; ++i) xsum += xb[i];
      sum += scale_at(block) * dx * static_cast<float>(dot - 8 * xsum);
    }
  }
  return sum;
}

// Q4_K: per sub-block j (activation block 8 * super + j), d * sc_j * d_x *
// dot(c, x_q) - dmin * m_j * (d_x * sum(x_q)).
float dot_q4_k(const std::uint8_t* row, std::int64_t nb, const std::int8_t* xq, const float* d8,
               const float* s8) {
  float sum = 0;
  for (std::int64_t sb = 0; sb < nb / 8; ++sb) {
    const std::uint8_t* block = row + sb * quant_simd::kQ4KBlockBytes;
    const float d = scale_at(block), dmin = scale_at(block + 2);
    std::uint8_t sm[16];
    quant_simd::unpack_q4_k_scales(block + 4, sm);
    const std::uint8_t *sc = sm, *m = sm + 8;
    for (int j = 0; j < 8; ++j) {
      const std::uint8_t* codes = block + 16 + 32 * (j / 2);
      const std::int64_t b = sb * 8 + j;
      const std::int8_t* xb = xq + b * kQuantBlock;
      std::int32_t dot = 0;
      for (int l = 0; l < 32; ++l) dot += (j % 2 == 0 ? codes[l] & 0x0F : codes[l] >> 4) * xb[l];
      sum += d * static_cast<float>(sc[j]) * d8[b * 8] * static_cast<float>(dot) -
             dmin * static_cast<float>(m[j]) * s8[b * 8];
    }
  }
  return sum;
}

// Q6_K: per activation block (two sub-blocks of 16), d * d_x * (sc_a *
// dot(c - 32, x_q) over the first 16 + sc_b * the same over the second).
float dot_q6_k(const std::uint8_t* row, std::int64_t nb, const std::int8_t* xq, const float* d8) {
  float sum = 0;
  for (std::int64_t sb = 0; sb < nb / 8; ++sb) {
    const std::uint8_t* block = row + sb * quant_simd::kQ6KBlockBytes;
    const auto* sc = reinterpret_cast<const std::int8_t*>(block + 192);
    const float d = scale_at(block + 208);
    for (int g = 0; g < 8; ++g) {  // activation block g of the super-block: half g / 4
      const std::uint8_t* ql = block + 64 * (g / 4) + 32 * (g % 2);
      const std::uint8_t* qh = block + 128 + 32 * (g / 4);
      const int nibble_shift = (g % 4) / 2 * 4, high_shift = 2 * (g % 4);
      const std::int64_t b = sb * 8 + g;
      const std::int8_t* xb = xq + b * kQuantBlock;
      std::int32_t dots[2] = {0, 0};
      for (int l = 0; l < 32; ++l) {
        const int code = ((ql[l] >> nibble_shift) & 0x0F) | (((qh[l] >> high_shift) & 3) << 4);
        dots[l / 16] += (code - 32) * xb[l];
      }
      sum += d * d8[b * 8] * static_cast<float>(sc[2 * g] * dots[0] + sc[2 * g + 1] * dots[1]);
    }
  }
  return sum;
}

void matmul_scalar(QuantType type, const std::uint8_t* w, const QuantizedRows& x,
                   std::int64_t n_begin, std::int64_t n_end, float* y, std::int64_t ldy) {
  const std::int64_t nb = x.k / kQuantBlock;
  const std::int64_t row_bytes = quant_row_bytes(type, x.k);
  for (std::int64_t n = n_begin; n < n_end; ++n) {
    const std::uint8_t* row = w + n * row_bytes;
    for (std::int64_t r = 0; r < x.m; ++r) {
      const std::int8_t* xq = x.q.data() + r * x.k;
      const float* d8 = x.d8.data() + r * nb * 8;
      const float* s8 = x.s8.data() + r * nb * 8;
      float out = 0;
      switch (type) {
        case QuantType::kQ8_0:
        case QuantType::kQ4_0:
          out = dot_q8_0_q4_0(type, row, nb, xq, d8);
          break;
        case QuantType::kQ4_K:
          out = dot_q4_k(row, nb, xq, d8, s8);
          break;
        case QuantType::kQ6_K:
          out = dot_q6_k(row, nb, xq, d8);
          break;
      }
      y[r * ldy + n] = out;
    }
  }
}

}  // namespace

GgmlType ggml_type_of(QuantType type) {
  switch (type) {
    case QuantType::kQ8_0:
      return GgmlType::kQ8_0;
    case QuantType::kQ4_0:
      return GgmlType::kQ4_0;
    case QuantType::kQ4_K:
      return GgmlType::kQ4_K;
    case QuantType::kQ6_K:
      return GgmlType::kQ6_K;
  }
  return GgmlType::kQ8_0;
}

std::optional<QuantType> quant_type_of(GgmlType type) {
  for (QuantType t : {QuantType::kQ8_0, QuantType::kQ4_0, QuantType::kQ4_K, QuantType::kQ6_K})
    if (ggml_type_of(t) == type) return t;
  return std::nullopt;
}

std::int64_t quant_block_size(QuantType type) {
  return static_cast<std::int64_t>(ggml_block_size(ggml_type_of(type)));
}

std::int64_t quant_block_bytes(QuantType type) {
  const GgmlType t = ggml_type_of(type);
  return static_cast<std::int64_t>(ggml_nbytes(t, ggml_block_size(t)));
}

std::int64_t quant_row_bytes(QuantType type, std::int64_t k) {
  return k / quant_block_size(type) * quant_block_bytes(type);
}

std::string_view quant_type_name(QuantType type) { return ggml_type_name(ggml_type_of(type)); }

std::string_view quant_isa_name(QuantIsa isa) {
  switch (isa) {
    case QuantIsa::kScalar:
      return "scalar";
    case QuantIsa::kAvx2:
      return "avx2";
    case QuantIsa::kAvx512:
      return "avx512";
  }
  return "?";
}

QuantIsa detect_quant_isa() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
    return QuantIsa::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("f16c"))
    return QuantIsa::kAvx2;
#endif
  return QuantIsa::kScalar;
}

QuantIsa quant_isa() {
  int isa = g_isa.load(std::memory_order_relaxed);
  if (isa < 0) {
    isa = static_cast<int>(detect_quant_isa());
    g_isa.store(isa, std::memory_order_relaxed);
  }
  return static_cast<QuantIsa>(isa);
}

void set_quant_isa(QuantIsa isa) {
  if (static_cast<int>(isa) > static_cast<int>(detect_quant_isa()))
    fail(ErrorKind::kUnsupported, "quantised kernels: this CPU has no {} support (best: {})",
         quant_isa_name(isa), quant_isa_name(detect_quant_isa()));
  g_isa.store(static_cast<int>(isa), std::memory_order_relaxed);
}

void quantize_rows_q8(const float* x, std::int64_t m, std::int64_t k, QuantizedRows& out) {
  ENCLAVE_CHECK(k % kQuantBlock == 0);
  const std::int64_t nb = k / kQuantBlock;
  out.m = m;
  out.k = k;
  out.q.resize(static_cast<std::size_t>(m * k));
  out.d8.resize(static_cast<std::size_t>(m * nb * 8));
  out.s8.resize(out.d8.size());
  if (quant_isa() != QuantIsa::kScalar) {
    (quant_isa() == QuantIsa::kAvx512
         ? quant_simd::quantize_rows_avx512
         : quant_simd::quantize_rows_avx2)(x, m, k, out.q.data(), out.d8.data(), out.s8.data());
    return;
  }
  for (std::int64_t blk = 0; blk < m * nb; ++blk) {
    const float* xb = x + blk * kQuantBlock;
    std::int8_t* qb = out.q.data() + blk * kQuantBlock;
    float amax = 0;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(xb[i]));
    const float d = amax / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    std::int32_t sum = 0;
    for (int i = 0; i < 32; ++i) {
      qb[i] = static_cast<std::int8_t>(std::nearbyint(xb[i] * id));
      sum += qb[i];
    }
    std::fill_n(out.d8.begin() + blk * 8, 8, d);
    std::fill_n(out.s8.begin() + blk * 8, 8, d * static_cast<float>(sum));
  }
}

void quant_matmul_rows_on(QuantIsa isa, QuantType type, const std::uint8_t* w,
                          const QuantizedRows& x, std::int64_t n_begin, std::int64_t n_end,
                          float* y, std::int64_t ldy) {
  ENCLAVE_CHECK(x.k % quant_block_size(type) == 0);
  const quant_simd::Rows rows{x.q.data(), x.d8.data(), x.s8.data(), x.m, x.k};
  using Kernel = void (*)(const std::uint8_t*, const quant_simd::Rows&, std::int64_t, std::int64_t,
                          float*, std::int64_t);
  // Per type (QuantType order): the AVX2 and the AVX-512 kernel.
  static constexpr Kernel kKernels[4][2] = {
      {quant_simd::matmul_q8_0_avx2, quant_simd::matmul_q8_0_avx512},
      {quant_simd::matmul_q4_0_avx2, quant_simd::matmul_q4_0_avx512},
      {quant_simd::matmul_q4_k_avx2, quant_simd::matmul_q4_k_avx512},
      {quant_simd::matmul_q6_k_avx2, quant_simd::matmul_q6_k_avx512}};
  if (isa == QuantIsa::kScalar) return matmul_scalar(type, w, x, n_begin, n_end, y, ldy);
  kKernels[static_cast<int>(type)][isa == QuantIsa::kAvx512 ? 1 : 0](w, rows, n_begin, n_end, y,
                                                                     ldy);
}

void quant_matmul_rows(QuantType type, const std::uint8_t* w, const QuantizedRows& x,
                       std::int64_t n_begin, std::int64_t n_end, float* y, std::int64_t ldy) {
  quant_matmul_rows_on(quant_isa(), type, w, x, n_begin, n_end, y, ldy);
}

void dequantize_rows_on(QuantIsa isa, QuantType type, const std::uint8_t* w, std::int64_t k,
                        std::int64_t n_begin, std::int64_t n_end, float* out) {
  const std::int64_t row = quant_row_bytes(type, k);
  if (isa != QuantIsa::kScalar)
    return quant_simd::dequantize_avx2(static_cast<int>(type), w + n_begin * row,
                                       (n_end - n_begin) * k / quant_block_size(type), out);
  const std::size_t n = static_cast<std::size_t>((n_end - n_begin) * k);
  ggml_decode(ggml_type_of(type),
              std::span<const std::uint8_t>(w + n_begin * row,
                                            static_cast<std::size_t>((n_end - n_begin) * row)),
              std::span<float>(out, n));
}

void dequantize_rows(QuantType type, const std::uint8_t* w, std::int64_t k, std::int64_t n_begin,
                     std::int64_t n_end, float* out) {
  dequantize_rows_on(quant_isa(), type, w, k, n_begin, n_end, out);
}

void dequantize_rows_bf16_on(QuantIsa isa, QuantType type, const std::uint8_t* w, std::int64_t k,
                             std::int64_t n_begin, std::int64_t n_end, std::uint16_t* out) {
  if (isa != QuantIsa::kScalar) {
    // AVX512_BF16 rounds to bf16 in one instruction (Cooper Lake, Sapphire
    // Rapids, Zen 4); the AVX-512 path uses it where cpuid reports it.
    static const bool has_bf16 = __builtin_cpu_supports("avx512bf16");
    const auto decode = isa == QuantIsa::kAvx512 && has_bf16
                            ? quant_simd::dequantize_bf16_avx512bf16
                            : quant_simd::dequantize_bf16_avx2;
    return decode(static_cast<int>(type), w + n_begin * quant_row_bytes(type, k),
                  (n_end - n_begin) * k / quant_block_size(type), out);
  }
  std::vector<float> row(static_cast<std::size_t>(k));
  for (std::int64_t n = n_begin; n < n_end; ++n, out += k) {
    dequantize_rows_on(isa, type, w, k, n, n + 1, row.data());
    for (std::int64_t i = 0; i < k; ++i) out[i] = f32_to_bf16(row[static_cast<std::size_t>(i)]);
  }
}

void dequantize_rows_bf16(QuantType type, const std::uint8_t* w, std::int64_t k,
                          std::int64_t n_begin, std::int64_t n_end, std::uint16_t* out) {
  dequantize_rows_bf16_on(quant_isa(), type, w, k, n_begin, n_end, out);
}

std::vector<float> quant_matmul_reference(QuantType type, std::span<const std::uint8_t> w,
                                          std::span<const float> x, std::int64_t m, std::int64_t n,
                                          std::int64_t k) {
  ENCLAVE_CHECK(static_cast<std::int64_t>(w.size()) == n * quant_row_bytes(type, k));
  ENCLAVE_CHECK(static_cast<std::int64_t>(x.size()) == m * k);
  std::vector<float> wf(static_cast<std::size_t>(n * k));
  dequantize_rows_on(QuantIsa::kScalar, type, w.data(), k, 0, n, wf.data());
  std::vector<float> y(static_cast<std::size_t>(m * n));
  for (std::int64_t r = 0; r < m; ++r) {
    for (std::int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (std::int64_t i = 0; i < k; ++i) sum += double{x[r * k + i]} * double{wf[j * k + i]};
      y[r * n + j] = static_cast<float>(sum);
    }
  }
  return y;
}

std::vector<std::uint8_t> quantize_weights(QuantType type, std::span<const float> w) {
  std::vector<std::uint8_t> out;
  ggml_encode(ggml_type_of(type), w, out);
  return out;
}

}  // namespace enclave
