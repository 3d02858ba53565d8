#include "merge/upscale.h"

#include "core/error.h"

namespace enclave::merge {

MergeConfig depth_upscale_config(const std::string& model_ref, std::int64_t n_layer,
                                 std::int64_t drop, std::optional<DType> dtype) {
  if (drop < 0 || drop >= n_layer) {
    fail_input(
        "drop: {} must be at least 0 and less than the model's {} layers (n layers become 2(n - "
        "drop))",
        drop, n_layer);
  }
  MergeConfig c;
  c.method = MergeMethod::kPassthrough;
  c.slices.push_back({.sources = {{.model = model_ref,
                                   .layer_range = std::pair{std::int64_t{0}, n_layer - drop}}}});
  c.slices.push_back({.sources = {{.model = model_ref, .layer_range = std::pair{drop, n_layer}}}});
  c.dtype = dtype;
  return c;
}

MergeResult upscale_model(const std::string& model_ref, std::int64_t drop,
                          std::optional<DType> dtype, const MergeOptions& options) {
  const std::filesystem::path dir =
      options.resolve ? options.resolve(model_ref) : resolve_model_directory(model_ref);
  const ModelConfig config = load_model_config(dir / "config.json");
  MergeOptions merge_options = options;
  // Resolve once: the plan sees the directory the layer count came from.
  merge_options.resolve = [dir](const std::string&) { return dir; };
  if (merge_options.config_name == MergeOptions{}.config_name)
    merge_options.config_name = "upscale";
  const MergeConfig merge_config = depth_upscale_config(model_ref, config.n_layer, drop, dtype);
  // The recipe travels with the model; JSON is valid YAML.
  if (merge_options.config_text.empty())
    merge_options.config_text = to_json(merge_config).dump(2) + "\n";
  return run_merge(merge_config, merge_options);
}

}  // namespace enclave::merge
