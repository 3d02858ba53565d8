// `enclave model init` and `enclave model inspect`.
#include <fmt/format.h>

#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "merge/record.h"
#include "model/engine.h"
#include "model/gguf_export.h"
#include "model/gguf_import.h"
#include "model/gguf_lora.h"
#include "model/init.h"

namespace enclave::cli {
namespace {

struct InitFlags {
  std::string preset;
  std::string config;
  std::string dtype = "f32";
  std::string tokenizer;
  std::string out;
  std::uint64_t seed = 0;
  bool json = false;
};

struct ImportFlags {
  std::string file;
  std::string out;
  bool json = false;
};

struct QuantizeFlags {
  std::string model;
  std::string type = "q8_0";
  std::string out;
  std::string workspace;
  bool json = false;
};

struct InspectFlags {
  std::string dir;
  bool json = false;
};

}  // namespace

void register_model(CLI::App& app) {
  CLI::App* model = app.add_subcommand("model");
  model->require_subcommand(1);

  auto init = std::make_shared<InitFlags>();
  CLI::App* init_cmd = model->add_subcommand(
      "init", "Create a randomly initialised model (a preset, or any config.json)");
  CLI::Option* preset = init_cmd
                            ->add_option("--preset", init->preset,
                                         "Model size: tiny (tests) or small (~100M, benchmarks)")
                            ->check(CLI::IsMember({"tiny", "small"}));
  CLI::Option* config = init_cmd->add_option(
      "--config", init->config,
      "A Hugging Face config.json: a random model of that shape, as from_config makes one");
  preset->excludes(config);
  init_cmd->add_option("--dtype", init->dtype, "Weights dtype written (with --config)")
      ->check(CLI::IsMember({"f32", "bf16"}))
      ->capture_default_str()
      ->needs(config);
  init_cmd
      ->add_option("--tokenizer", init->tokenizer,
                   "Folder to copy the tokenizer files from (with --config; default: train a "
                   "byte-level BPE of the config's vocabulary size)")
      ->needs(config);
  init_cmd->add_option("--out", init->out, "Output directory (must not exist or be empty)")
      ->required();
  init_cmd->add_option("--seed", init->seed, "Random seed")->capture_default_str();
  init_cmd->add_flag("--json", init->json, "Print the summary as JSON");
  init_cmd->callback([init] {
    if (init->preset.empty() == init->config.empty())
      fail_input("model init: give --preset NAME or --config FILE");
    if (!init->preset.empty()) {
      init_model(init->preset, init->out, init->seed);
    } else {
      init_model_from_config(init->config, init->out, init->seed,
                             {.dtype = init->dtype == "bf16" ? DType::kBF16 : DType::kF32,
                              .tokenizer = init->tokenizer});
    }
    // The tokenizer was loaded (and checked) by init: the line printed
    // without --json needs only the parameter count.
    nlohmann::json summary = inspect_model(init->out, /*with_tokenizer=*/init->json);
    if (init->json) {
      std::cout << summary.dump() << "\n";
    } else {
      fmt::print("created {} model in {} ({} parameters, seed {})\n",
                 init->preset.empty() ? init->config : init->preset, init->out,
                 summary.value("n_parameters", std::int64_t{0}), init->seed);
    }
  });

  auto inspect = std::make_shared<InspectFlags>();
  CLI::App* inspect_cmd =
      model->add_subcommand("inspect", "Show a model's architecture, size, dtypes and tokenizer");
  inspect_cmd
      ->add_option("dir", inspect->dir,
                   "Model directory or registry reference (name, name@3, name:alias)")
      ->required();
  inspect_cmd->add_flag("--json", inspect->json, "Print as JSON");
  inspect_cmd->callback([inspect] {
    nlohmann::json summary = inspect_model(resolve_model(inspect->dir));
    const DtypeChoice dtype = choose_compute_dtype("auto", "cpu");
    summary["compute_dtype_auto"] = {{"dtype", dtype.dtype}, {"reason", dtype.reason}};
    if (inspect->json) {
      std::cout << summary.dump(2) << "\n";
    } else {
      std::cout << format_inspect(summary);
    }
  });

  register_model_export(*model);  // cmd_export.cpp

  auto imp = std::make_shared<ImportFlags>();
  CLI::App* import_cmd = model->add_subcommand(
      "import",
      "Write a GGUF file as a Hugging Face model directory (dequantised), e.g. to train it");
  import_cmd->add_option("file", imp->file, "The GGUF file")->required();
  import_cmd->add_option("--out", imp->out, "Output directory (must not exist or be empty)")
      ->required();
  import_cmd->add_flag("--json", imp->json, "Print the summary as JSON");
  import_cmd->callback([imp] {
    const GgufImportResult r = import_gguf(imp->file, imp->out);
    if (imp->json) {
      std::cout << nlohmann::json{{"out", imp->out},
                                  {"architecture", r.architecture},
                                  {"n_tensors", r.n_tensors}}
                       .dump()
                << "\n";
    } else {
      fmt::print("wrote {} ({}, {} tensors)\n", imp->out, r.architecture, r.n_tensors);
    }
  });

  auto quant = std::make_shared<QuantizeFlags>();
  CLI::App* quantize_cmd = model->add_subcommand(
      "quantize",
      "Register a quantised version of a model (GGUF; generate, score, eval and serve run it on "
      "the quantised kernels)");
  quantize_cmd->add_option("--model", quant->model, "Model directory or registry reference")
      ->required();
  quantize_cmd->add_option("--type", quant->type, "Type of the weight matrices")
      ->check(CLI::IsMember({"q8_0", "q4_0", "q4_k_m"}))
      ->capture_default_str();
  quantize_cmd->add_option("--out", quant->out, "Model name to register the result under")
      ->required();
  add_workspace_flag(*quantize_cmd, quant->workspace);
  quantize_cmd->add_flag("--json", quant->json, "Print the summary as JSON");
  quantize_cmd->callback([quant] {
    const store::FindOptions find{.workspace = workspace_flag(quant->workspace)};
    const merge::StoredMerge stored = merge::quantize_to_store(
        quant->model, quant->type, {.resolve = merge::store_resolver(find)},
        {.name = quant->out, .workspace = find});
    if (quant->json) {
      std::cout << nlohmann::json{{"version", store::version_json(stored.version)},
                                  {"run_id", stored.run_id},
                                  {"type", quant->type},
                                  {"n_tensors", stored.merge.n_tensors},
                                  {"n_bytes", stored.merge.n_bytes}}
                       .dump(2)
                << "\n";
    } else {
      fmt::print("quantised {} as {} into {} (run {}): {} tensors, {} MiB\n", quant->model,
                 quant->type, stored.version.ref(), stored.run_id, stored.merge.n_tensors,
                 stored.merge.n_bytes >> 20);
    }
  });

  register_model_upscale(*model);     // cmd_upscale.cpp
  register_model_merge_lora(*model);  // cmd_merge_lora.cpp
}

}  // namespace enclave::cli
