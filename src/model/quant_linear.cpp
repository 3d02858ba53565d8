#include "model/quant_linear.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "core/error.h"

namespace enclave {
namespace {

// Output rows per parallel task: enough work to amortise the hand-off.
constexpr std::int64_t kRowsPerTask = 64;

// Bytes of one dequantised weight tile: it stays in a core's L2 cache
// between being written and being read by the product (1 MiB measured
// fastest against 256 KiB - 8 MiB on 2 MiB L2s; the product's own blocking
// wants tiles that are not too thin).
constexpr std::int64_t kTileBytes = 1024 * 1024;

// Rows [begin, end) of w into out (end - begin, cols) of out's dtype
// (float32 or bfloat16; any other through a float32 buffer).
void dequantize_into(const QuantMatrix& w, std::int64_t begin, std::int64_t end,
                     torch::Tensor out) {
  if (out.scalar_type() == torch::kFloat32)
    return dequantize_rows(w.type, w.data, w.cols, begin, end, out.data_ptr<float>());
  if (out.scalar_type() == torch::kBFloat16)
    return dequantize_rows_bf16(w.type, w.data, w.cols, begin, end,
                                reinterpret_cast<std::uint16_t*>(out.data_ptr<at::BFloat16>()));
  std::vector<float> buffer(static_cast<std::size_t>((end - begin) * w.cols));
  dequantize_rows(w.type, w.data, w.cols, begin, end, buffer.data());
  out.copy_(torch::from_blob(buffer.data(), {end - begin, w.cols}));
}

// x (m, cols) times w^T in x's dtype, a tile of output columns at a time:
// each worker dequantises its tile of weight rows into a buffer that fits
// its cache and multiplies x by it there (oneDNN for bf16, BLAS for
// float32, single-threaded inside the worker), so the dequantised matrix
// never goes out to memory and back, dequantising runs on every core, and
// no whole dequantised matrix is ever allocated (a 1B model's float32
// output matrix would be 1 GB).
torch::Tensor tiled_product(const torch::Tensor& x, const QuantMatrix& w) {
  const std::int64_t m = x.size(0);
  // At most kTileBytes a tile, and as many tiles per thread (a 256-row
  // matrix in one tile would leave the other threads idle).
  const std::int64_t threads = at::get_num_threads();
  const std::int64_t bytes = w.rows * w.cols * x.element_size();
  std::int64_t n_tiles = std::max<std::int64_t>((bytes + kTileBytes - 1) / kTileBytes, threads);
  n_tiles = (n_tiles + threads - 1) / threads * threads;
  const std::int64_t tile =
      std::max<std::int64_t>((w.rows + n_tiles - 1) / n_tiles + 15, 16) / 16 * 16;
  n_tiles = (w.rows + tile - 1) / tile;
  torch::Tensor y = torch::empty({m, w.rows}, x.options());
  const bool inference = c10::InferenceMode::is_enabled();
  at::parallel_for(0, n_tiles, 1, [&](std::int64_t begin, std::int64_t end) {
    c10::InferenceMode mode(inference);
    torch::Tensor weights = torch::empty({tile, w.cols}, x.options());
    for (std::int64_t t = begin; t < end; ++t) {
      const std::int64_t row = t * tile, n = std::min(tile, w.rows - row);
      const torch::Tensor part = weights.narrow(0, 0, n);
      dequantize_into(w, row, row + n, part);
      y.narrow(1, row, n).copy_(torch::mm(x, part.t()));
    }
  });
  return y;
}

}  // namespace

torch::Tensor dequantize(const QuantMatrix& w, torch::Dtype dtype) {
  torch::Tensor out = torch::empty({w.rows, w.cols}, dtype);
  // InferenceMode is per thread: the workers take the caller's, or copy_
  // into an inference tensor made here would be refused.
  const bool inference = c10::InferenceMode::is_enabled();
  at::parallel_for(0, w.rows, kRowsPerTask, [&](std::int64_t begin, std::int64_t end) {
    c10::InferenceMode mode(inference);
    // kRowsPerTask rows at a time: any float32 buffer stays small.
    for (std::int64_t row = begin; row < end; row += kRowsPerTask) {
      const std::int64_t n = std::min(kRowsPerTask, end - row);
      dequantize_into(w, row, row + n, out.narrow(0, row, n));
    }
  });
  return out;
}

torch::Tensor quant_linear(const torch::Tensor& x, const QuantMatrix& w,
                           const torch::Tensor& bias) {
  ENCLAVE_CHECK(x.device().is_cpu() && x.size(-1) == w.cols);
  const std::int64_t m = x.numel() / w.cols;
  // (m, rows) -> (..., rows), x's leading dimensions.
  auto as_x = [&](const torch::Tensor& y) {
    std::vector<std::int64_t> shape(x.sizes().begin(), x.sizes().end());
    shape.back() = w.rows;
    return y.view(shape);
  };
  if (m >= kDequantizeRows) {
    const torch::Tensor y = as_x(tiled_product(x.reshape({m, w.cols}).contiguous(), w));
    return bias.defined() ? y + bias.to(x.scalar_type()) : y;
  }

  const torch::Tensor xf = x.reshape({m, w.cols}).to(torch::kFloat32).contiguous();
  QuantizedRows xq;
  quantize_rows_q8(xf.data_ptr<float>(), m, w.cols, xq);
  torch::Tensor y = torch::empty({m, w.rows}, torch::kFloat32);
  float* yp = y.data_ptr<float>();
  at::parallel_for(0, w.rows, kRowsPerTask, [&](std::int64_t begin, std::int64_t end) {
    quant_matmul_rows(w.type, w.data, xq, begin, end, yp, w.rows);
  });
  y = as_x(y);
  if (bias.defined()) y = y + bias.to(torch::kFloat32);
  return y.to(x.scalar_type());
}

torch::Tensor quant_embedding(const torch::Tensor& ids, const QuantMatrix& w, torch::Dtype dtype) {
  const torch::Tensor flat = ids.reshape({-1}).to(torch::kInt64).contiguous();
  const std::int64_t n = flat.numel();
  torch::Tensor out = torch::empty({n, w.cols}, torch::kFloat32);
  const std::int64_t* id = flat.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i) {
    ENCLAVE_CHECK(id[i] >= 0 && id[i] < w.rows);
    dequantize_rows(w.type, w.data, w.cols, id[i], id[i] + 1, out.data_ptr<float>() + i * w.cols);
  }
  std::vector<std::int64_t> shape(ids.sizes().begin(), ids.sizes().end());
  shape.push_back(w.cols);
  return out.view(shape).to(dtype);
}

}  // namespace enclave
