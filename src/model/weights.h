// Loading checkpoint tensors into a Transformer: every parameter of the
// module is looked up by its HF name in the directory's safetensors
// (WeightFiles), checked against the expected shape, converted from the
// stored dtype (F32/BF16/F16/F64) to the compute dtype and moved to the
// device. When the stored dtype already is the compute dtype on the CPU,
// the tensor wraps the memory map directly (no copy; the deleter keeps the
// file mapped), which makes loading large fp32/bf16 models nearly free.
// Thread safety: stateless functions; the module must not be in use.
#pragma once

#include <torch/torch.h>

#include <set>
#include <string>

#include "model/transformer.h"
#include "model/weight_files.h"

namespace enclave {

struct LoadOptions {
  torch::Device device = torch::kCPU;
  // Memory-mapped tensors are read-only: training, which updates weights in
  // place, must load with allow_mmap = false.
  bool allow_mmap = true;
  // Parameters already loaded another way (quantised weights,
  // quant_weights.h): neither looked up nor expected in the files.
  std::set<std::string> provided;
};

// Replaces every parameter of `model` (but options.provided) with the checkpoint's tensor. Throws
// Error(kInvalidInput) naming the file and tensor for a missing tensor, an
// unexpected extra tensor (other than rotary_emb.inv_freq buffers and a
// tied lm_head.weight, which HF ignores too), a shape mismatch (expected and
// actual shape) or a non-float dtype.
void load_weights(TransformerImpl& model, const WeightFiles& files, const LoadOptions& options);

// One stored tensor as a torch tensor of `dtype` on `device` (a view of the
// map when allow_mmap and no conversion is needed, else a copy).
torch::Tensor load_tensor(const WeightRef& ref, torch::Dtype dtype, const torch::Device& device,
                          bool allow_mmap);

// kF32 -> torch::kFloat32 ...; Error(kUnsupported) for dtypes torch lacks.
torch::Dtype torch_dtype_of(DType dtype);

// "[2, 3]" for error messages.
std::string format_shape(c10::IntArrayRef shape);

}  // namespace enclave
