#include "model/inference_model.h"

#include <torch/torch.h>

#include "core/error.h"
#include "model/quant_weights.h"
#include "model/weight_files.h"
#include "model/weights.h"

namespace enclave {

InferenceModel load_inference_model(const std::filesystem::path& dir, const EngineOptions& options,
                                    TokenizerFiles tokenizer_files) {
  if (!std::filesystem::is_directory(dir)) {
    fail(ErrorKind::kNotFound, "{}: model directory does not exist", dir.string());
  }
  const torch::Dtype dtype = parse_compute_dtype(options.dtype);
  const torch::Device device = parse_device(options.device);
  if (options.threads < 0) fail_input("threads: must be >= 0, got {}", options.threads);
  apply_compute_threads(options.threads, dtype == torch::kFloat32);
  const std::filesystem::path config_path = dir / "config.json";
  if (!std::filesystem::exists(config_path)) {
    fail(ErrorKind::kNotFound, "{}: missing config.json", dir.string());
  }

  InferenceModel m;
  m.config = load_model_config(config_path);
  {
    c10::InferenceMode inference;
    m.model = Transformer(m.config, dtype);
    std::set<std::string> quantised = load_quant_weights(*m.model, dir, device);
    load_weights(
        *m.model, WeightFiles(dir),
        LoadOptions{.device = device, .allow_mmap = true, .provided = std::move(quantised)});
  }
  // Outside InferenceMode: adapter tensors are ordinary tensors.
  if (!options.adapter.empty()) m.adapter = LoraAdapter::attach_saved(*m.model, options.adapter);

  try {
    m.tokenizer = load_tokenizer(dir);
  } catch (const Error& e) {
    // A malformed tokenizer is always an error; a missing one only when required.
    if (e.kind() != ErrorKind::kNotFound || tokenizer_files == TokenizerFiles::kRequired) throw;
  }
  if (m.tokenizer) {
    m.chat_template = options.chat_template.empty()
                          ? load_chat_template(dir)
                          : load_chat_template_file(options.chat_template, dir);
  }
  m.stop_ids = stop_token_ids(m.tokenizer.get(), m.config);
  return m;
}

}  // namespace enclave
