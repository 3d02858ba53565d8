// `enclave model export --format gguf` and its short form `enclave export
// gguf`: a model or a LoRA adapter as one GGUF file.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "model/gguf_export.h"
#include "model/gguf_lora.h"

namespace enclave::cli {
namespace {

struct ExportFlags {
  std::string model;
  std::string adapter;  // with base: a LoRA adapter as a GGUF adapter file
  std::string base;
  std::string format = "gguf";
  std::string type = "f16";
  std::string out;
  std::string name;
  bool json = false;
};

constexpr const char* kDescription =
    "Write a model, or a LoRA adapter, as one GGUF file for llama.cpp and Ollama (f32, f16, bf16, "
    "q8_0, q4_0, q4_k_m)";

// The flags and the work of a GGUF export on export_cmd; with_format adds
// --format (`model export`, where GGUF is the one format so far).
void add_gguf_export(CLI::App* export_cmd, bool with_format) {
  auto exp = std::make_shared<ExportFlags>();
  CLI::Option* model_opt =
      export_cmd->add_option("--model", exp->model, "Model directory or registry reference");
  CLI::Option* adapter_opt = export_cmd->add_option(
      "--adapter", exp->adapter, "A PEFT LoRA adapter (folder or reference) to write instead");
  CLI::Option* base_opt = export_cmd->add_option(
      "--base", exp->base, "The base model the adapter was trained on (folder or reference)");
  model_opt->excludes(adapter_opt)->excludes(base_opt);
  adapter_opt->needs(base_opt);
  base_opt->needs(adapter_opt);
  if (with_format) {
    export_cmd->add_option("--format", exp->format, "Output format")
        ->check(CLI::IsMember({"gguf"}))
        ->capture_default_str();
  }
  CLI::Option* type_opt =
      export_cmd
          ->add_option("--type", exp->type,
                       "Type of the weight matrices (an adapter: f32, f16, bf16, q8_0; a "
                       "quantised model: its own type unless given)")
          ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0", "q4_0", "q4_k_m"}))
          ->capture_default_str();
  export_cmd->add_option("--out", exp->out, "Output file (FILE.gguf)")->required();
  export_cmd->add_option("--name", exp->name, "general.name (default: the model's folder name)");
  export_cmd->add_flag("--json", exp->json, "Print the summary as JSON");
  const std::string command = with_format ? "model export" : "export gguf";
  export_cmd->callback([exp, type_opt, command] {
    if (exp->model.empty() && exp->adapter.empty())
      fail_input("{}: give --model, or --adapter with --base", command);
    GgmlType type = parse_gguf_type(exp->type);
    std::string architecture, kind = "model", shown;
    std::size_t n_tensors = 0;
    std::uint64_t n_bytes = 0;
    if (!exp->adapter.empty()) {
      const store::ResolvedModel resolved = resolve_model_with_adapter(exp->base, exp->adapter);
      const GgufLoraExportResult r = export_gguf_lora(resolved.adapter, resolved.dir, exp->out,
                                                      {.type = type, .name = exp->name});
      architecture = r.architecture;
      n_tensors = r.n_tensors;
      n_bytes = r.n_bytes;
      kind = "lora adapter";
      shown = "LoRA adapter, ";
    } else {
      const std::filesystem::path dir = resolve_model(exp->model);
      // A quantised model (a `model quantize` version) keeps its blocks by default.
      if (type_opt->count() == 0) {
        if (const std::optional<GgmlType> own = quantized_export_type(dir)) {
          type = *own;
          exp->type = type == GgmlType::kQ4_K ? "q4_k_m" : std::string(ggml_type_name(type));
        }
      }
      const GgufExportResult r = export_gguf(dir, exp->out, {.type = type, .name = exp->name});
      architecture = r.architecture;
      n_tensors = r.n_tensors;
      n_bytes = r.n_bytes;
    }
    if (exp->json) {
      std::cout << nlohmann::json{{"out", exp->out},
                                  {"format", exp->format},
                                  {"type", exp->type},
                                  {"kind", kind},
                                  {"architecture", architecture},
                                  {"n_tensors", n_tensors},
                                  {"n_bytes", n_bytes}}
                       .dump()
                << "\n";
    } else {
      fmt::print("wrote {} ({}{} architecture, {} tensors, {} MiB, {})\n", exp->out, shown,
                 architecture, n_tensors, n_bytes >> 20, exp->type);
    }
  });
}

}  // namespace

void register_model_export(CLI::App& model) {
  add_gguf_export(model.add_subcommand("export", kDescription), /*with_format=*/true);
}

void register_export(CLI::App& app) {
  CLI::App* exp = app.add_subcommand("export");
  exp->require_subcommand(1);
  add_gguf_export(exp->add_subcommand("gguf", kDescription), /*with_format=*/false);
}

}  // namespace enclave::cli
