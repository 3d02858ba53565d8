// Compiled once per executable: ENCLAVE_CLI_TENSORS is 1 for `enclave-torch`,
// which links the tensor commands, and 0 for `enclave`, which must not name
// them (the linker would pull libtorch in).
#include "cli/command_table.h"

#include "cli/command_scopes.h"
#include "cli/commands.h"
#if ENCLAVE_CLI_TENSORS
#include "model/engine.h"
#endif

#ifndef ENCLAVE_CLI_TENSORS
#error "ENCLAVE_CLI_TENSORS must be 0 or 1 (set by src/cli/CMakeLists.txt)"
#endif

// A command that links only torch-free libraries.
#define ENCLAVE_LIGHT(add) false, &add
// A command that needs libtorch: registered only in `enclave-torch`.
#if ENCLAVE_CLI_TENSORS
#define ENCLAVE_TENSORS(add) true, &add
#else
#define ENCLAVE_TENSORS(add) true, nullptr
#endif

namespace enclave::cli {
namespace {

const CommandSpec kCommands[] = {
    {"model", "Create and inspect models (Hugging Face layout)", ENCLAVE_TENSORS(register_model)},
    {"export", "Write a model or a LoRA adapter for other runtimes (`export gguf`)",
     ENCLAVE_TENSORS(register_export)},
    {"generate", "Generate text from a prompt, streamed to stdout",
     ENCLAVE_TENSORS(register_generate)},
    {"score", "Log-probability of each token given the ones before it",
     ENCLAVE_TENSORS(register_score)},
    {"tokenize", "Turn text into token ids with a model's tokenizer",
     ENCLAVE_LIGHT(register_tokenize)},
    {"template", "Render a conversation with a model's own chat template (Jinja)",
     ENCLAVE_LIGHT(register_template)},
    {"init", "Create a workspace: DIR/.enclave with the metadata database and the object store",
     ENCLAVE_LIGHT(register_init)},
    {"store",
     "Check, clean, back up and restore the workspace's store (databases and object store)",
     ENCLAVE_LIGHT(register_store)},
    {"runs", "Recorded runs: what ran, with which params, inputs and results",
     ENCLAVE_LIGHT(register_runs)},
    {"models", "The model registry: named versions, aliases (production, staging) and tags",
     ENCLAVE_LIGHT(register_models)},
    {"datasets", "The dataset registry: named, immutable versions of training data",
     ENCLAVE_LIGHT(register_datasets)},
    {"data",
     "Prepare training data: ingest documents, clean, deduplicate, scrub PII, split and format; "
     "every step writes a new dataset version",
     ENCLAVE_LIGHT(register_data)},
    {"lineage",
     "Upstream (runs, data, base models, params that made it) and downstream (all derived) of REF",
     ENCLAVE_LIGHT(register_lineage)},
    {"audit", "The hash-chained log of every change to the workspace",
     ENCLAVE_LIGHT(register_audit)},
    {"users",
     "The OS users of a shared workspace and their roles (viewer, service, developer, admin)",
     ENCLAVE_LIGHT(register_users)},
    {"merge",
     "Merge models from a mergekit-style YAML config (linear, slerp, task_arithmetic, ties, "
     "dare_ties, dare_linear, passthrough)",
     ENCLAVE_TENSORS(register_merge)},
    {"train", "Train models: pretrain, SFT, DPO, sDPO; full or LoRA",
     ENCLAVE_TENSORS(register_train)},
    {"eval", "Evaluate models: suites, comparisons and quality gates",
     ENCLAVE_TENSORS(register_eval)},
    {"serve", "Serve a model through an OpenAI-compatible HTTP API",
     ENCLAVE_TENSORS(register_serve)},
    {"api-keys", "Manage the API keys file of `enclave serve --api-keys`",
     ENCLAVE_TENSORS(register_api_keys)},
    {"monitor", "Look at what the served models are doing; erase logged requests",
     ENCLAVE_LIGHT(register_monitor)},
    {"feedback", "Turn feedback on served answers into training data",
     ENCLAVE_LIGHT(register_feedback)},
    {"pipeline",
     "Pipelines: stages from a YAML file run in dependency order, cached, approved, and started "
     "by triggers (`pipeline watch`)",
     ENCLAVE_LIGHT(register_pipeline)},
    {"ui", "The dashboard: runs, models, data, serving, feedback and pipelines in a browser",
     ENCLAVE_TENSORS(register_ui)},
};

}  // namespace

std::span<const CommandSpec> command_table() { return kCommands; }

void prepare_runtime() {
#if ENCLAVE_CLI_TENSORS
  apply_cpu_backend_env();
#endif
}

}  // namespace enclave::cli
