// `enclave merge --config merge.yaml --out NAME`: runs a mergekit-style
// merge config (merge/merge_config.h) and registers the result as the next
// version of model NAME, with lineage to every input model and the config.
// --out-dir DIR writes a plain model folder instead (no workspace needed).
// The output flags are shared with `model upscale` (cmd_upscale.cpp).
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "core/file.h"
#include "core/yaml.h"
#include "merge/record.h"

namespace enclave::cli {
namespace {

struct MergeFlags {
  std::string config;
  std::uint64_t seed = 0;
  MergeOutputFlags output;
};

}  // namespace

void add_merge_output_flags(CLI::App& cmd, MergeOutputFlags& flags) {
  CLI::Option* out =
      cmd.add_option("--out", flags.out, "Register the result as the next version of this model");
  CLI::Option* out_dir = cmd.add_option("--out-dir", flags.out_dir,
                                        "Write the result to this folder instead (must not exist)");
  out->excludes(out_dir);
  cmd.add_option("--shard-gb", flags.shard_gb, "Largest safetensors shard, in GB")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  add_workspace_flag(cmd, flags.workspace);
  cmd.add_flag("--json", flags.json, "Print the result as JSON");
}

std::uint64_t MergeOutputFlags::max_shard_bytes() const {
  // Clamped so a huge --shard-gb cannot overflow the conversion.
  return static_cast<std::uint64_t>(std::clamp(shard_gb * 1e9, 1.0, 1e18));
}

void require_merge_output(const MergeOutputFlags& flags, const std::string& command) {
  if (flags.out.empty() && flags.out_dir.empty()) {
    fail_input("{}: give --out NAME (register in the workspace) or --out-dir DIR", command);
  }
}

void register_merge(CLI::App& app) {
  auto flags = std::make_shared<MergeFlags>();
  CLI::App* cmd = app.add_subcommand("merge");
  cmd->add_option("--config", flags->config, "Merge config (YAML, close to mergekit's)")
      ->required();
  cmd->add_option("--seed", flags->seed, "Seed of DARE's random drops")->capture_default_str();
  add_merge_output_flags(*cmd, flags->output);
  cmd->callback([flags] {
    const MergeOutputFlags& output = flags->output;
    require_merge_output(output, "merge");
    const std::filesystem::path config_path = flags->config;
    const merge::MergeConfig config = merge::load_merge_config(config_path);
    const store::FindOptions find{.workspace = workspace_flag(output.workspace)};
    merge::MergeOptions options{
        .resolve = merge::store_resolver(find),
        .config_name = config_path.string(),
        .config_text = read_file(config_path, std::uint64_t{16} << 20),
        .seed = flags->seed,
        .max_shard_bytes = output.max_shard_bytes(),
    };
    if (!output.out.empty()) {
      const merge::StoredMerge stored = merge::merge_to_store(
          config, std::move(options),
          {.name = output.out, .workspace = find, .config_file = config_path});
      if (output.json) {
        std::cout << merge::stored_json(stored).dump(2) << "\n";
      } else {
        fmt::print("{} (run {})\n", merge::format_result(stored.merge, stored.version.ref()),
                   stored.run_id);
      }
      return;
    }
    options.out_dir = output.out_dir;
    const merge::MergeResult result = merge::run_merge(config, options);
    if (output.json) {
      std::cout << merge::result_json(result).dump(2) << "\n";
    } else {
      fmt::print("{}\n", merge::format_result(result, output.out_dir));
    }
  });
}

}  // namespace enclave::cli
