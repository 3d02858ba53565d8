#include "merge/record.h"

#include <fmt/format.h>

#include <chrono>
#include <functional>

#include "core/error.h"
#include "core/staging_dir.h"
#include "merge/upscale.h"
#include "model/gguf_export.h"
#include "store/names.h"
#include "store/runs.h"

namespace enclave::merge {
namespace fs = std::filesystem;

namespace {

using MergeFn = std::function<MergeResult(const MergeOptions&)>;

StoredMerge record_merge(std::string_view kind, const nlohmann::json& params, const MergeFn& merge,
                         MergeOptions options, const StoreTarget& target) {
  store::validate_name(target.name, "model name");
  auto workspace = store::Workspace::open(target.workspace);
  options.resolve = store_resolver(target.workspace);

  store::Run run(workspace->root(), {.kind = std::string(kind),
                                     .name = target.name,
                                     .command = target.command,
                                     .params = params,
                                     .seed = static_cast<std::int64_t>(options.seed)});
  if (!target.config_file.empty()) run.log_input(target.config_file, "merge_config");

  // Removed however the merge ends; the store keeps its own copy.
  const StagingDir scratch = StagingDir::scratch(workspace->tmp_dir(), "merge");
  options.out_dir = scratch.path() / "model";
  StoredMerge out;
  out.merge = merge(options);

  for (const MergeInput& in : out.merge.inputs) {
    std::error_code ec;
    if (fs::is_directory(in.ref, ec)) {
      run.log_input(in.dir, in.role);
    } else {
      run.log_input_version(
          store::resolve_version(workspace->db(), store::RegistryKind::kModel, in.ref).id, in.role);
    }
  }
  run.log_metric("seconds", out.merge.seconds, 0);
  run.log_metric("n_bytes", static_cast<double>(out.merge.n_bytes), 0);
  run.log_metric("n_layer", static_cast<double>(out.merge.config.n_layer), 0);

  out.version = store::register_version(*workspace, {.kind = store::RegistryKind::kModel,
                                                     .name = target.name,
                                                     .source = options.out_dir,
                                                     .from_run = run.id(),
                                                     .show_progress = options.show_progress});
  run.log_output_version(out.version.id, "model");
  run.finish(store::RunStatus::kFinished);
  out.run_id = run.id();
  out.merge.out_dir.clear();  // the scratch copy is gone; the version's checkout is the model
  return out;
}

}  // namespace

nlohmann::json stored_json(const StoredMerge& stored) {
  nlohmann::json out = result_json(stored.merge);
  out["version"] = store::version_json(stored.version);
  out["run_id"] = stored.run_id;
  out.erase("out_dir");  // a scratch folder, gone once stored
  return out;
}

ModelResolver store_resolver(const store::FindOptions& workspace) {
  return [workspace](const std::string& ref) {
    return store::resolve_model_ref(ref, {.find = workspace});
  };
}

StoredMerge merge_to_store(const MergeConfig& config, MergeOptions options,
                           const StoreTarget& target) {
  const nlohmann::json params = {{"merge_config", to_json(config)}, {"seed", options.seed}};
  return record_merge(
      "merge", params, [&config](const MergeOptions& o) { return run_merge(config, o); },
      std::move(options), target);
}

StoredMerge quantize_to_store(const std::string& model_ref, const std::string& type,
                              MergeOptions options, const StoreTarget& target) {
  const GgmlType ggml_type = parse_gguf_type(type);  // before any work
  return record_merge(
      "quantize", {{"model", model_ref}, {"type", type}},
      [&](const MergeOptions& o) {
        const auto start = std::chrono::steady_clock::now();
        MergeResult r;
        const fs::path dir = o.resolve ? o.resolve(model_ref) : fs::path(model_ref);
        r.config = load_model_config(dir / "config.json");
        r.inputs.push_back({model_ref, dir, "model"});
        fs::create_directories(o.out_dir);
        const GgufExportResult exported =
            export_gguf(dir, o.out_dir / "model.gguf", {.type = ggml_type, .name = target.name});
        r.out_dir = o.out_dir;
        r.n_tensors = static_cast<std::int64_t>(exported.n_tensors);
        r.n_bytes = exported.n_bytes;
        r.n_shards = 1;
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return r;
      },
      std::move(options), target);
}

StoredMerge upscale_to_store(const std::string& model_ref, std::int64_t drop,
                             std::optional<DType> dtype, MergeOptions options,
                             const StoreTarget& target) {
  nlohmann::json params = {{"model", model_ref}, {"drop", drop}};
  if (dtype) params["dtype"] = torch_dtype_name(*dtype);
  return record_merge(
      "upscale", params,
      [&](const MergeOptions& o) { return upscale_model(model_ref, drop, dtype, o); },
      std::move(options), target);
}

}  // namespace enclave::merge
