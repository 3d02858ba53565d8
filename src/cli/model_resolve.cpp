// Model references and engines for the commands that run a model
// (enclave-torch only):
// adapters below the top one are folded in as `enclave model merge-lora`
// folds them, which needs the model library.
#include <filesystem>
#include <string>

#include "cli/commands.h"
#include "model/engine.h"
#include "model/lora.h"
#include "store/model_ref.h"

namespace enclave::cli {
namespace {

store::ResolveOptions merging_options(const std::string& workspace) {
  store::ResolveOptions options = resolve_options(workspace);
  options.merge_adapter =
      [](const std::filesystem::path& base, const std::filesystem::path& adapter,
         const std::filesystem::path& out) { merge_lora(base, adapter, out, "f32"); };
  return options;
}

}  // namespace

std::filesystem::path resolve_model(const std::string& ref, const std::string& workspace) {
  return store::resolve_model_ref(ref, merging_options(workspace));
}

store::ResolvedModel resolve_model_with_adapter(const std::string& model,
                                                const std::string& adapter,
                                                const std::string& workspace) {
  return store::resolve_model({.model = model, .adapter = adapter, .max_unmerged = 1},
                              merging_options(workspace));
}

std::unique_ptr<Engine> load_engine(const std::string& model, const std::string& adapter,
                                    const ComputeFlags& compute) {
  const store::ResolvedModel resolved = resolve_model_with_adapter(model, adapter);
  EngineOptions options;
  options.dtype = compute_dtype(compute).dtype;
  options.device = compute.device;
  options.threads = compute.threads;
  options.chat_template = compute.chat_template;
  options.adapter = resolved.adapter.string();
  return Engine::load(resolved.dir, options);
}

}  // namespace enclave::cli
