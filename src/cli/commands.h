// The `enclave` subcommands. Each cmd_<name>.cpp registers one subcommand on
// the CLI11 app; the callback parses flags into an options struct and calls
// one library function. Errors are thrown as enclave::Error and turned into a
// one-line message and exit code by main.cpp. command_table.cpp lists them
// and says which need tensors (and so run in enclave-torch).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/compute_dtype.h"
#include "store/model_ref.h"

namespace enclave {
class Engine;  // model/engine.h, only in enclave-torch
}  // namespace enclave

namespace enclave::cli {

void register_model(CLI::App& app);     // model init | inspect | upscale
void register_generate(CLI::App& app);  // generate
void register_score(CLI::App& app);     // score
void register_tokenize(CLI::App& app);  // tokenize
void register_template(CLI::App& app);  // template render

// The store (src/store): workspace, artifacts, runs, registry, lineage, audit.
void register_init(CLI::App& app);      // init [DIR], and the global --workspace flag
void register_store(CLI::App& app);     // store verify | gc
void register_runs(CLI::App& app);      // runs list | show | compare | exec | log
void register_models(CLI::App& app);    // models register | list | show | alias | tag | path
void register_datasets(CLI::App& app);  // datasets: the same verbs
void register_lineage(CLI::App& app);   // lineage REF [--up|--down]
void register_audit(CLI::App& app);     // audit list | verify
void register_eval(CLI::App& app);      // eval run | compare | gate | tasks

// Thrown by a command that finished its work but must end with a non-zero
// exit status without an error message (a failed quality gate); main.cpp
// returns code.
struct ExitStatus {
  int code = 1;
};

// Merging (src/merge).
void register_merge(CLI::App& app);               // merge --config FILE --out NAME
void register_model_upscale(CLI::App& model);     // model upscale, added by register_model
void register_model_merge_lora(CLI::App& model);  // model merge-lora, added by register_model
void register_model_export(CLI::App& model);      // model export, added by register_model
void register_export(CLI::App& app);              // export gguf: model export's short form
void register_train(CLI::App& app);               // train pretrain | sft | dpo | sdpo | tasks

// Where `merge` and `model upscale` put their result (cmd_merge.cpp): --out
// NAME registers the next version of a model, --out-dir DIR writes a plain
// folder; plus --shard-gb, --workspace and --json.
struct MergeOutputFlags {
  std::string out;
  std::string out_dir;
  std::string workspace;
  double shard_gb = 5.0;
  bool json = false;
  std::uint64_t max_shard_bytes() const;  // shard_gb in bytes, at least 1
};
void add_merge_output_flags(CLI::App& cmd, MergeOutputFlags& flags);
// Throws Error(kInvalidInput) naming `command` unless --out or --out-dir is given.
void require_merge_output(const MergeOutputFlags& flags, const std::string& command);

// Serving (src/serve): the OpenAI-compatible server, its keys, request log
// and feedback.
void register_serve(CLI::App& app);     // serve
void register_api_keys(CLI::App& app);  // api-keys add, list, revoke, rotate
void register_monitor(CLI::App& app);   // monitor requests
void register_feedback(CLI::App& app);  // feedback export
void register_ui(CLI::App& app);        // ui (the dashboard)
void register_pipeline(CLI::App& app);  // pipeline run | list | show | status | dag | history |
                                        // approve | watch

// Data preparation (src/data).
void register_data(CLI::App& app);  // data ingest | normalize | filter | dedup | pii |
                                    // decontaminate | split | format | run
// The report.json of dataset version ref (null if it has none), and the same
// as lines for `enclave datasets show` ("" if none). In cmd_data.cpp.
nlohmann::json dataset_report_json(const std::string& workspace, const std::string& ref);
std::string dataset_report_text(const std::string& workspace, const std::string& ref);

// Adds --workspace to a store subcommand. The workspace is taken from it,
// else from `enclave --workspace DIR ...`, else $ENCLAVE_HOME, else by
// walking up from the current directory.
void add_workspace_flag(CLI::App& cmd, std::string& workspace);
// The --workspace value in force: the subcommand's own flag, else the
// global one, else "" (then $ENCLAVE_HOME or the walk up decide).
std::string workspace_flag(const std::string& workspace);
// The root of the workspace those flags select (absolute). Throws
// Error(kNotFound) saying how to create one.
std::filesystem::path workspace_root(const std::string& workspace);
// The directory of a model argument: a directory as it is, else a registry
// reference (name, name@3, name:alias) in the workspace selected as above,
// its bytes checked before use. A reference naming a LoRA adapter yields its
// base with the adapter merged (store/model_ref.h).
std::filesystem::path resolve_model(const std::string& ref, const std::string& workspace = "");
// A model reference as commands pass it on: a FILE.gguf, or a model that
// `model quantize` registered (a folder holding only model.gguf), becomes
// the folder it is imported into (once per file version, its Q8_0 / Q4_0
// matrices kept quantised; model/gguf_import.h); any other reference is
// returned unchanged.
std::string gguf_as_folder(const std::string& ref, const std::string& workspace = "");
// --model and --adapter of a command that runs the model (Engine): a model
// folder and at most one adapter left unmerged, for references naming adapters too.
store::ResolvedModel resolve_model_with_adapter(const std::string& model,
                                                const std::string& adapter,
                                                const std::string& workspace = "");
// Resolve options for the workspace selected as above, with no adapter
// merger: commands that fold adapters use resolve_model* (enclave-torch).
store::ResolveOptions resolve_options(const std::string& workspace = "");
// The base model folder of a reference (adapters on it change neither its
// config nor its tokenizer), for torch-free commands such as tokenize.
std::filesystem::path resolve_model_base(const std::string& ref, const std::string& workspace = "");

// An error message as main.cpp prints it: paths inside the workspace's
// checkouts named by the dataset or model version stored there ("dataset
// sft@1" instead of .enclave/checkouts/<hash>). Never throws.
std::string readable_error(std::string_view message);

// Parses "1,2,3" into ids; throws Error(kInvalidInput) naming `flag` and the bad item.
std::vector<std::int32_t> parse_token_list(const std::string& text, const std::string& flag);

// Adds --dtype, --device and --threads to a subcommand that runs the model.
struct ComputeFlags {
  std::string dtype;  // "auto", "f32", "bf16"; empty: ENCLAVE_DTYPE, else auto
  std::string device = "cpu";
  int threads = 0;
  std::string chat_template;  // --chat-template FILE, instead of the model's own
};
void add_compute_flags(CLI::App& cmd, ComputeFlags& flags);
// The compute dtype the flags mean on this machine (core/compute_dtype.h).
DtypeChoice compute_dtype(const ComputeFlags& flags);
// --chat-template FILE, for commands that render chat prompts.
void add_chat_template_flag(CLI::App& cmd, ComputeFlags& flags);
// The Engine of --model (a folder or reference, possibly an adapter) with
// --adapter on top, computing as the flags say (enclave-torch only). Throws
// what resolve_model_with_adapter and Engine::load throw.
std::unique_ptr<Engine> load_engine(const std::string& model, const std::string& adapter,
                                    const ComputeFlags& compute);

}  // namespace enclave::cli
