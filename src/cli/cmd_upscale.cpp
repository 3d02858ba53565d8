// `enclave model upscale --model REF --drop D --out NAME`: depth up-scaling,
// the SOLAR recipe in one command (merge/upscale.h): n layers become
// 2(n - D), registered as the next version of NAME with lineage to REF.
// --out-dir DIR writes a plain model folder instead.
#include <fmt/format.h>

#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "merge/record.h"
#include "merge/upscale.h"

namespace enclave::cli {
namespace {

struct UpscaleFlags {
  std::string model;
  std::int64_t drop = 0;
  std::string dtype;
  MergeOutputFlags output;
};

}  // namespace

void register_model_upscale(CLI::App& model) {
  auto flags = std::make_shared<UpscaleFlags>();
  CLI::App* cmd = model.add_subcommand(
      "upscale",
      "Depth up-scaling (SOLAR): stack layers [0, n-D) and [D, n) of a model into 2(n-D) layers");
  cmd->add_option("--model", flags->model, "Model: folder, name, name@3 or name:alias")->required();
  cmd->add_option("--drop", flags->drop,
                  "Layers D dropped from the end of one copy and the start of the other")
      ->required();
  cmd->add_option("--dtype", flags->dtype,
                  "Stored dtype: float32, bfloat16 or float16 (default: the model's)");
  add_merge_output_flags(*cmd, flags->output);
  cmd->callback([flags] {
    const MergeOutputFlags& output = flags->output;
    require_merge_output(output, "model upscale");
    std::optional<DType> dtype;
    if (!flags->dtype.empty()) {
      dtype = merge::storage_dtype_from_name(flags->dtype);
      if (!dtype)
        fail_input("--dtype: '{}' is not one of float32, bfloat16, float16", flags->dtype);
    }
    const store::FindOptions find{.workspace = workspace_flag(output.workspace)};
    merge::MergeOptions options{.resolve = merge::store_resolver(find),
                                .max_shard_bytes = output.max_shard_bytes()};
    merge::MergeResult result;
    std::string destination;
    nlohmann::json summary;
    if (!output.out.empty()) {
      merge::StoredMerge stored =
          merge::upscale_to_store(flags->model, flags->drop, dtype, std::move(options),
                                  {.name = output.out, .workspace = find});
      summary = merge::stored_json(stored);
      destination = fmt::format("{} (run {})", stored.version.ref(), stored.run_id);
      result = std::move(stored.merge);
    } else {
      options.out_dir = output.out_dir;
      result = merge::upscale_model(flags->model, flags->drop, dtype, options);
      summary = merge::result_json(result);
      destination = output.out_dir;
    }
    if (output.json) {
      std::cout << summary.dump(2) << "\n";
    } else {
      // 2(n - D) layers came from n.
      fmt::print(
          "upscaled {} from {} to {} layers (drop {}) into {}: {} tensors, {:.1f} MB, {:.2f} s\n",
          flags->model, result.config.n_layer / 2 + flags->drop, result.config.n_layer, flags->drop,
          destination, result.n_tensors, static_cast<double>(result.n_bytes) / 1e6, result.seconds);
    }
  });
}

}  // namespace enclave::cli
