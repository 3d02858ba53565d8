// Quantised weight matrices in the model: a QuantMatrix is a Linear's (or the
// embedding's) weight kept in ggml's Q8_0 / Q4_0 / Q4_K / Q6_K blocks
// (quant_kernels.h), usually a view of a memory-mapped GGUF file, and
// quant_linear computes y = x W^T + b with it. Decoding (few rows) runs the quantised kernels on
// the current instruction set, threaded over output rows with
// at::parallel_for; prefill (kDequantizeRows rows or more) dequantises the
// weight into the activation dtype a cache-sized tile of rows per thread
// and hands each tile's product to libtorch (oneDNN / BLAS), as the weight
// is then reused across many rows.
// Thread safety: QuantMatrix is immutable; the functions are reentrant.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>

#include "model/quant_kernels.h"

namespace enclave {

struct QuantMatrix {
  QuantType type = QuantType::kQ8_0;
  std::int64_t rows = 0, cols = 0;     // (out, in); cols a multiple of quant_block_size
  const std::uint8_t* data = nullptr;  // rows * quant_row_bytes(type, cols) bytes
  std::shared_ptr<const void> owner;   // keeps data alive (the mapped file)

  std::int64_t n_bytes() const { return rows * quant_row_bytes(type, cols); }
};

// Activation rows from which a product dequantises the weight instead.
constexpr std::int64_t kDequantizeRows = 16;

// x: (..., cols) float32 or bfloat16 -> (..., rows) in x's dtype; bias (rows)
// or undefined. CPU tensors only (ENCLAVE_CHECK).
torch::Tensor quant_linear(const torch::Tensor& x, const QuantMatrix& w, const torch::Tensor& bias);

// The whole matrix as a (rows, cols) tensor of dtype.
torch::Tensor dequantize(const QuantMatrix& w, torch::Dtype dtype);

// Rows of w picked by ids (any shape, int64) -> (ids..., cols) of dtype: an
// embedding lookup that dequantises only the rows it reads.
torch::Tensor quant_embedding(const torch::Tensor& ids, const QuantMatrix& w, torch::Dtype dtype);

}  // namespace enclave
