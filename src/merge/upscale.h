// Depth up-scaling, the SOLAR 10.7B recipe (Kim et al. 2023, "SOLAR 10.7B:
// Scaling Large Language Models with Simple yet Effective Depth
// Up-Scaling", arXiv:2312.15166): two copies of an n-layer model, the last
// D layers dropped from the first and the first D from the second, stacked
// into 2(n - D) layers. SOLAR used n = 32, D = 8 -> 48 layers, then
// continued pretraining. It is a passthrough merge with two slices,
// [0, n - D) and [D, n) of the same model, so it shares run_merge's
// streaming, checks and output; layer tensors are renamed to their new
// index and config.json gets num_hidden_layers = 2(n - D).
// Thread safety: stateless functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "merge/merge.h"

namespace enclave::merge {

// The passthrough config for model_ref with n_layer layers. Throws
// Error(kInvalidInput) naming `drop` unless 0 <= drop < n_layer.
MergeConfig depth_upscale_config(const std::string& model_ref, std::int64_t n_layer,
                                 std::int64_t drop, std::optional<DType> dtype = std::nullopt);

// Resolves the model (options.resolve), reads its layer count and runs the
// merge above into options.out_dir.
MergeResult upscale_model(const std::string& model_ref, std::int64_t drop,
                          std::optional<DType> dtype, const MergeOptions& options);

}  // namespace enclave::merge
