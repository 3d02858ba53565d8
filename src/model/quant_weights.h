// A model directory's quantised matrices: `model.quant.gguf` beside the
// safetensors holds the Q8_0 / Q4_0 / Q4_K / Q6_K weights of Linear and Embedding modules
// under their Hugging Face names and layouts (what import_gguf writes with
// keep_quantized). load_quant_weights maps the file and points each module's
// quant_ at its bytes, so the weights are never dequantised on load.
// Thread safety: as load_weights (the module must not be in use).
#pragma once

#include <filesystem>
#include <set>
#include <string>

#include "model/transformer.h"

namespace enclave {

// Attaches the tensors of dir/kQuantWeightsFile (gguf_import.h) to the
// modules whose weight they name and returns those parameter names (for
// LoadOptions::provided); empty when the file is absent. Throws what
// GgufFile throws for a malformed file, Error(kInvalidInput) naming the file
// and tensor for a name that is not a Linear or Embedding weight of the
// model or a shape that differs, Error(kUnsupported) for another tensor
// type or a device other than the CPU.
std::set<std::string> load_quant_weights(TransformerImpl& model, const std::filesystem::path& dir,
                                         const torch::Device& device);

}  // namespace enclave
