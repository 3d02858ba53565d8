// The registry: named, versioned models and datasets. A version (name@3) is
// an immutable pointer to an artifact and to the run that made it (if any),
// with where it was imported from, when and by whom. Aliases ("production",
// "staging", any name) point at one version of a name and can move; tags are
// key=value labels on a version. Every change appends to the audit log in the
// same transaction.
//
// Deleting a version is soft (as MLflow users expect of a registry that keeps
// lineage): the version stops resolving, leaves lists and loses its aliases,
// but its row stays so runs that used it and `enclave lineage` still show it,
// marked deleted. Its number is never reused. Its content is then referenced
// only by the deleted row, so `enclave store gc` reclaims it unless another
// version or a run still names the same artifact.
//
// References: "name" (latest version), "name@3", "name:alias" ("name:latest"
// is the latest). resolve_model_ref also takes a directory, so every command
// that takes a model accepts either.
// Thread safety: see workspace.h.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/workspace.h"

namespace enclave::store {

enum class RegistryKind { kModel, kDataset };
std::string_view to_string(RegistryKind kind);  // "model", "dataset"

struct VersionInfo {
  std::int64_t id = 0;
  RegistryKind kind = RegistryKind::kModel;
  std::string name;
  std::int64_t version = 0;
  std::string artifact;  // "sha256:..."
  std::optional<std::int64_t> run_id;
  std::string source;  // absolute path it was registered from
  double created_at = 0;
  std::string created_by;
  std::vector<std::string> aliases;
  std::map<std::string, std::string> tags;
  std::optional<double> deleted_at;  // set once the version is deleted
  std::string deleted_by;

  std::string ref() const { return name + "@" + std::to_string(version); }
};

struct RegisterOptions {
  RegistryKind kind = RegistryKind::kModel;
  std::string name;
  std::filesystem::path source;          // file or folder to store
  std::optional<std::int64_t> from_run;  // the run that produced it
  bool show_progress = false;
};

// Stores source and records it as the next version of name (creating the
// name on first use). Throws Error(kInvalidInput) for a bad name,
// Error(kNotFound) for a missing source or run.
VersionInfo register_version(Workspace& workspace, const RegisterOptions& options);

// The version a reference names. Throws Error(kInvalidInput) for a bad
// reference, Error(kNotFound) naming what is missing. Deleted versions never
// count as the latest and carry no aliases; "name@3" naming a deleted version
// is Error(kNotFound) saying when and by whom it was deleted, unless
// include_deleted (for lineage and history, which must still find it).
VersionInfo resolve_version(Db& db, RegistryKind kind, std::string_view ref,
                            bool include_deleted = false);

// Points alias at the version ref names (moving it if it pointed elsewhere).
// "latest" is reserved. Returns the version.
VersionInfo set_alias(Workspace& workspace, RegistryKind kind, std::string_view ref,
                      std::string_view alias);

// Removes alias from name. "latest" is reserved and cannot be removed.
// Returns the version the alias pointed at. Throws Error(kInvalidInput) for a
// bad name or alias (a version reference such as "name@3" included: aliases
// belong to names), Error(kNotFound) if the name or the alias does not exist.
VersionInfo remove_alias(Workspace& workspace, RegistryKind kind, std::string_view name,
                         std::string_view alias);

struct DeletedVersion {
  VersionInfo version;  // as it is now: deleted_at set, no aliases
  std::vector<std::string> aliases_removed;
  // Another live version or a run still names the same artifact, so gc will
  // keep the content.
  bool content_still_referenced = false;
};

// Marks the version ref names deleted and removes the aliases pointing at it,
// with a "delete" audit entry, in one transaction. ref must name the version
// explicitly ("name@3"): Error(kInvalidInput) for "name" or "name:alias", so a
// moving pointer never decides what is deleted. Error(kNotFound) for an
// unknown or already deleted version.
DeletedVersion delete_version(Workspace& workspace, RegistryKind kind, std::string_view ref);

// Sets tags ("key=value", or "key" for an empty value) and removes keys on
// the version ref names. Returns the version.
VersionInfo set_tags(Workspace& workspace, RegistryKind kind, std::string_view ref,
                     const std::vector<std::string>& set, const std::vector<std::string>& remove);

// Names with their latest version, version count and aliases; deleted
// versions are left out, and a name whose versions are all deleted too.
nlohmann::json list_registry(Db& db, RegistryKind kind);
std::string format_registry_list(const nlohmann::json& names, RegistryKind kind);

// A name (all live versions) or one version (name@3, name:alias) with its
// artifact's size and files.
nlohmann::json show_registry(Db& db, RegistryKind kind, std::string_view ref);
std::string format_registry_show(const nlohmann::json& shown);

// A version as JSON; "deleted_at" and "deleted_by" appear only on a deleted one.
nlohmann::json version_json(const VersionInfo& v);
nlohmann::json deleted_version_json(const DeletedVersion& d);

// text with every checkout path of this workspace (".enclave/checkouts/<hex>",
// as errors from readers and loaders name files) replaced by the reference
// of a version stored under it ("sft@1"), so messages name what the user
// typed rather than a content hash. Paths of unknown content stay as they are.
std::string name_checkouts(Workspace& workspace, std::string_view text);

// The stored version's checkout (folder, or file for a single-file dataset),
// its bytes checked against their hashes unless verify is false.
std::filesystem::path version_path(Workspace& workspace, RegistryKind kind, std::string_view ref,
                                   bool verify = true);

// Folds a PEFT adapter into its base: writes the merged model folder to out
// (which does not exist yet). The store cannot run a model, so callers that
// accept adapter references pass the model library's merge (enclave::merge_lora).
using AdapterMerger =
    std::function<void(const std::filesystem::path& base, const std::filesystem::path& adapter,
                       const std::filesystem::path& out)>;

struct ResolveOptions {
  FindOptions find;    // which workspace, for registry references
  bool verify = true;  // check a stored model's bytes before handing it out
  // Folds adapters into their base where a caller needs fewer adapters than a
  // reference carries (model_ref.h). Unset: such a reference is
  // Error(kUnsupported) naming the adapter and its base.
  AdapterMerger merge_adapter;
};

// The directory of a model reference: an existing directory is used as it is
// (the Hugging Face convention); otherwise "name", "name@3" or "name:alias"
// is looked up in the workspace and its checkout returned. A version that is
// a LoRA adapter (model_ref.h) yields its base with the adapter merged, in a
// cached folder (needs options.merge_adapter). Where a folder and a model
// share a name, write ./name for the folder and name:latest for the model.
// Throws Error(kNotFound) if neither exists, Error(kInvalidInput) for a
// malformed reference.
std::filesystem::path resolve_model_ref(const std::string& ref, const ResolveOptions& options = {});

}  // namespace enclave::store
