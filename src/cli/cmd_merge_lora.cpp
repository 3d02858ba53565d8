// `enclave model merge-lora --base REF --adapter DIR --out DIR`: folds a
// PEFT LoRA adapter into its base model (W += scaling * B A) and writes a
// plain Hugging Face model directory, as PEFT's merge_and_unload does.
#include <fmt/format.h>

#include <memory>
#include <string>

#include "cli/commands.h"
#include "model/config.h"
#include "model/lora.h"
#include "store/registry.h"

namespace enclave::cli {
namespace {

struct MergeLoraFlags {
  std::string base;
  std::string adapter;
  std::string out;
  std::string dtype;
  std::string workspace;
};

}  // namespace

void register_model_merge_lora(CLI::App& model) {
  auto flags = std::make_shared<MergeLoraFlags>();
  CLI::App* cmd =
      model.add_subcommand("merge-lora", "Merge a LoRA adapter (PEFT format) into its base model");
  cmd->add_option("--base", flags->base, "Base model: registry reference or directory")->required();
  cmd->add_option("--adapter", flags->adapter,
                  "Adapter: directory with adapter_config.json, or a registry reference")
      ->required();
  cmd->add_option("--out", flags->out, "Output model directory (must not exist or be empty)")
      ->required();
  cmd->add_option("--dtype", flags->dtype, "Stored dtype (default: the base's torch_dtype)")
      ->check(CLI::IsMember({"f32", "bf16", "f16"}));
  add_workspace_flag(*cmd, flags->workspace);
  cmd->callback([flags] {
    // --base may itself be an adapter (tiny-chat trained with --lora): its
    // own adapters are folded in first, and --adapter goes on top.
    const store::ResolvedModel model =
        resolve_model_with_adapter(flags->base, flags->adapter, flags->workspace);
    const std::filesystem::path& base = model.dir;
    std::string dtype = flags->dtype;
    if (dtype.empty()) {
      const std::string stored = load_model_config(base / "config.json").torch_dtype;
      dtype = stored == "bfloat16" ? "bf16" : stored == "float16" ? "f16" : "f32";
    }
    merge_lora(base, model.adapter, flags->out, dtype);
    fmt::print("merged {} -> {} ({})\n", model.description, flags->out, dtype);
  });
}

// The model resolution that may merge adapters lives here, beside the merge,
// so commands that never run a model link no model code.
store::ResolveOptions resolve_options(const std::string& workspace) {
  store::ResolveOptions options;
  options.find.workspace = workspace_flag(workspace);
  options.merge_adapter = adapter_merger();
  return options;
}

std::filesystem::path resolve_model(const std::string& ref, const std::string& workspace) {
  return store::resolve_model_ref(ref, resolve_options(workspace));
}

store::ResolvedModel resolve_model_with_adapter(const std::string& model,
                                                const std::string& adapter,
                                                const std::string& workspace) {
  return store::resolve_model({.model = model, .adapter = adapter, .max_unmerged = 1},
                              resolve_options(workspace));
}

store::AdapterMerger adapter_merger() {
  return [](const std::filesystem::path& base, const std::filesystem::path& adapter,
            const std::filesystem::path& out) { merge_lora(base, adapter, out, "f32"); };
}

}  // namespace enclave::cli
