#include "model/quant_linear.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "core/error.h"

namespace enclave {
namespace {

// Output rows per parallel task: enough work to amortise the hand-off.
constexpr std::int64_t kRowsPerTask = 64;

}  // namespace

torch::Tensor dequantize(const QuantMatrix& w, torch::Dtype dtype) {
  torch::Tensor out = torch::empty({w.rows, w.cols}, dtype);
  // InferenceMode is per thread: the workers take the caller's, or copy_
  // into an inference tensor made here would be refused.
  const bool inference = c10::InferenceMode::is_enabled();
  at::parallel_for(0, w.rows, kRowsPerTask, [&](std::int64_t begin, std::int64_t end) {
    c10::InferenceMode mode(inference);
    if (dtype == torch::kFloat32) {
      dequantize_rows(w.type, w.data, w.cols, begin, end, out.data_ptr<float>() + begin * w.cols);
      return;
    }
    // Through a small float32 buffer per task: one pass, no whole-matrix temporary.
    std::vector<float> buffer(static_cast<std::size_t>(kRowsPerTask * w.cols));
    for (std::int64_t row = begin; row < end; row += kRowsPerTask) {
      const std::int64_t n = std::min(kRowsPerTask, end - row);
      dequantize_rows(w.type, w.data, w.cols, row, row + n, buffer.data());
      out.narrow(0, row, n).copy_(torch::from_blob(buffer.data(), {n, w.cols}));
    }
  });
  return out;
}

torch::Tensor quant_linear(const torch::Tensor& x, const QuantMatrix& w,
                           const torch::Tensor& bias) {
  ENCLAVE_CHECK(x.device().is_cpu() && x.size(-1) == w.cols);
  const std::int64_t m = x.numel() / w.cols;
  if (m >= kDequantizeRows)
    return torch::linear(x, dequantize(w, x.scalar_type()),
                         bias.defined() ? bias.to(x.scalar_type()) : bias);

  const torch::Tensor xf = x.reshape({m, w.cols}).to(torch::kFloat32).contiguous();
  QuantizedRows xq;
  quantize_rows_q8(xf.data_ptr<float>(), m, w.cols, xq);
  torch::Tensor y = torch::empty({m, w.rows}, torch::kFloat32);
  float* yp = y.data_ptr<float>();
  at::parallel_for(0, w.rows, kRowsPerTask, [&](std::int64_t begin, std::int64_t end) {
    quant_matmul_rows(w.type, w.data, xq, begin, end, yp, w.rows);
  });
  std::vector<std::int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.back() = w.rows;
  y = y.view(shape);
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
