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

// The scalar path: the fast paths' arithmetic, one product at a time.
void matmul_scalar(QuantType type, const std::uint8_t* w, const QuantizedRows& x,
                   std::int64_t n_begin, std::int64_t n_end, float* y, std::int64_t ldy) {
  const std::int64_t nb = x.k / kQuantBlock;
  const std::int64_t bytes = quant_block_bytes(type);
  for (std::int64_t n = n_begin; n < n_end; ++n) {
    const std::uint8_t* row = w + n * nb * bytes;
    for (std::int64_t r = 0; r < x.m; ++r) {
      const std::int8_t* xq = x.q.data() + r * x.k;
      float sum = 0;
      for (std::int64_t b = 0; b < nb; ++b) {
        const std::uint8_t* block = row + b * bytes;
        const std::int8_t* xb = xq + b * kQuantBlock;
        const float dx = x.d8[static_cast<std::size_t>((r * nb + b) * 8)];
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
      y[r * ldy + n] = sum;
    }
  }
}

GgmlType ggml_type_of(QuantType type) {
  return type == QuantType::kQ8_0 ? GgmlType::kQ8_0 : GgmlType::kQ4_0;
}

}  // namespace

std::int64_t quant_block_bytes(QuantType type) { return type == QuantType::kQ8_0 ? 34 : 18; }

std::int64_t quant_row_bytes(QuantType type, std::int64_t k) {
  return k / kQuantBlock * quant_block_bytes(type);
}

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
  const quant_simd::Rows rows{x.q.data(), x.d8.data(), x.s8.data(), x.m, x.k};
  const bool q8 = type == QuantType::kQ8_0;
  switch (isa) {
    case QuantIsa::kAvx512:
      return q8 ? quant_simd::matmul_q8_0_avx512(w, rows, n_begin, n_end, y, ldy)
                : quant_simd::matmul_q4_0_avx512(w, rows, n_begin, n_end, y, ldy);
    case QuantIsa::kAvx2:
      return q8 ? quant_simd::matmul_q8_0_avx2(w, rows, n_begin, n_end, y, ldy)
                : quant_simd::matmul_q4_0_avx2(w, rows, n_begin, n_end, y, ldy);
    case QuantIsa::kScalar:
      return matmul_scalar(type, w, x, n_begin, n_end, y, ldy);
  }
}

void quant_matmul_rows(QuantType type, const std::uint8_t* w, const QuantizedRows& x,
                       std::int64_t n_begin, std::int64_t n_end, float* y, std::int64_t ldy) {
  quant_matmul_rows_on(quant_isa(), type, w, x, n_begin, n_end, y, ldy);
}

void dequantize_rows(QuantType type, const std::uint8_t* w, std::int64_t k, std::int64_t n_begin,
                     std::int64_t n_end, float* out) {
  const std::int64_t row = quant_row_bytes(type, k);
  const std::size_t n = static_cast<std::size_t>((n_end - n_begin) * k);
  ggml_decode(ggml_type_of(type),
              std::span<const std::uint8_t>(w + n_begin * row,
                                            static_cast<std::size_t>((n_end - n_begin) * row)),
              std::span<float>(out, n));
}

std::vector<float> quant_matmul_reference(QuantType type, std::span<const std::uint8_t> w,
                                          std::span<const float> x, std::int64_t m, std::int64_t n,
                                          std::int64_t k) {
  ENCLAVE_CHECK(static_cast<std::int64_t>(w.size()) == n * quant_row_bytes(type, k));
  ENCLAVE_CHECK(static_cast<std::int64_t>(x.size()) == m * k);
  std::vector<float> wf(static_cast<std::size_t>(n * k));
  dequantize_rows(type, w.data(), k, 0, n, wf.data());
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
