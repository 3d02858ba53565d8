// Model references that name LoRA adapters. `enclave train ... --lora`
// registers a PEFT adapter folder as a model version tagged type=adapter and
// base=REF (the model version it was trained on, or that folder). Wherever a
// model is expected, such a reference means its base with the adapter
// applied, as PEFT's AutoPeftModelForCausalLM reads an adapter folder. The
// base may itself be an adapter (DPO trained on an SFT adapter), so a
// reference unfolds into a base model and a stack of adapters.
//
// Commands run a model with at most one adapter left unmerged (Engine, the
// server) or none (training, merging): the adapters below are folded into
// the base once, into .enclave/checkouts/merged-<key>, keyed by the digests
// of the base and adapters so later commands reuse it and `enclave store gc`
// reclaims it.
// Thread safety: see workspace.h. Two processes folding the same stack each
// build their own temp folder; the first rename wins and the other is dropped.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "store/registry.h"

namespace enclave::store {

struct ModelStack {
  std::filesystem::path base;                   // a model folder (config.json, weights)
  std::string base_ref;                         // "tiny@1", or the folder
  std::vector<std::filesystem::path> adapters;  // PEFT adapter folders, bottom first
  std::vector<std::string> adapter_refs;        // "tiny-chat@1" or the folder, bottom first
  std::optional<VersionInfo> version;           // the version the reference names, if any
  // Content identity of base and adapters (artifact digests; path and
  // modification time for plain folders), the key of merged folders.
  std::string base_key;
  std::vector<std::string> adapter_keys;

  // "tiny-pt@1 + adapter tiny-chat@1", for messages.
  std::string describe() const;
};

// Throws Error(kInvalidInput) when `ref` is a bare name (no slash, version
// or alias) that names both a folder in the working directory and a model
// registered in the workspace: taking either silently could serve the wrong
// model. The message asks for ./NAME or NAME@latest.
void refuse_ambiguous_folder(const std::string& ref, const FindOptions& find);

// Unfolds ref: a model folder, a PEFT adapter folder (adapter_config.json
// whose base_model_name_or_path is a folder or reference), or "name",
// "name@3", "name:alias" in the workspace. A version is an adapter when
// tagged type=adapter or when it holds adapter_config.json and no
// config.json; its base is its "base" tag, else its adapter_config.json's
// base_model_name_or_path. Throws what resolve_model_ref throws, and
// Error(kInvalidInput) for an adapter with no base to be found or a stack
// deeper than 8.
ModelStack resolve_model_stack(const std::string& ref, const ResolveOptions& options = {});

// The folder of an adapter reference (--adapter): a PEFT folder, or a model
// version that is an adapter. Throws Error(kInvalidInput) when ref names a
// full model, else like resolve_model_stack.
std::filesystem::path resolve_adapter_ref(const std::string& ref,
                                          const ResolveOptions& options = {});

struct ResolvedModel {
  std::filesystem::path dir;           // a model folder
  std::filesystem::path adapter;       // PEFT adapter to apply on top; empty: none
  std::optional<VersionInfo> version;  // the version the model reference names, if any
  std::string description;             // ModelStack::describe() of the whole stack
};

struct ModelRequest {
  std::string model;    // --model: a folder or reference, possibly an adapter
  std::string adapter;  // --adapter put on top of it; empty: none
  // How many adapters the caller applies itself: 1 for Engine and the
  // server, 0 for training and merging (everything folded into dir).
  std::size_t max_unmerged = 1;
};

// The stack of request.model (plus request.adapter on top) as a model folder
// and at most max_unmerged adapters; lower adapters are folded into a cached
// folder with options.merge_adapter. Throws like resolve_model_stack, and
// Error(kUnsupported) naming the stack when folding is needed and no merger
// is given.
ResolvedModel resolve_model(const ModelRequest& request, const ResolveOptions& options = {});

}  // namespace enclave::store
