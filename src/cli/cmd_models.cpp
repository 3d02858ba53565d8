// `enclave models ...` and `enclave datasets ...`: register, list, show,
// alias (and alias --delete), tag, path and delete, the same verbs over the
// two kinds of the registry; `datasets purge` erases a dataset version.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "store/artifacts.h"
#include "store/purge.h"
#include "store/registry.h"
#include "store/run_query.h"

namespace enclave::cli {
namespace {

using store::RegistryKind;

struct RegisterFlags {
  std::string workspace;
  std::string name;
  std::string source;
  std::string from_run;
  bool json = false;
};

struct RefFlags {
  std::string workspace;
  std::string ref;
  bool json = false;
};

struct AliasFlags {
  std::string workspace;
  std::string ref;
  std::string alias;
  bool remove = false;
  bool json = false;
};

struct TagFlags {
  std::string workspace;
  std::string ref;
  std::vector<std::string> set;
  std::vector<std::string> remove;
  bool json = false;
};

struct PathFlags {
  std::string workspace;
  std::string ref;
  bool no_verify = false;
};

void print_version(const store::VersionInfo& v, bool json, const std::string& text) {
  if (json) {
    std::cout << store::version_json(v).dump(2) << "\n";
  } else {
    std::cout << text << "\n";
  }
}

void add_register(CLI::App& parent, RegistryKind kind) {
  std::string k(store::to_string(kind));
  auto flags = std::make_shared<RegisterFlags>();
  CLI::App* cmd = parent.add_subcommand(
      "register", fmt::format("Store a {} folder (or file) as the next version of NAME", k));
  cmd->add_option("name", flags->name, fmt::format("{} name: letters, digits, '.', '_', '-'", k))
      ->required();
  cmd->add_option("path", flags->source,
                  kind == RegistryKind::kModel ? "Model folder (Hugging Face layout)"
                                               : "Dataset file or folder")
      ->required();
  cmd->add_option("--from-run", flags->from_run, "The run that produced it (12 or run:12)");
  add_workspace_flag(*cmd, flags->workspace);
  cmd->add_flag("--json", flags->json, "Print the new version as JSON");
  cmd->callback([flags, kind] {
    store::RegisterOptions options;
    options.kind = kind;
    options.name = flags->name;
    options.source = flags->source;
    if (!flags->from_run.empty()) options.from_run = store::parse_run_id(flags->from_run);
    options.show_progress = !flags->json;
    store::Workspace workspace(workspace_root(flags->workspace));
    store::VersionInfo v = store::register_version(workspace, options);
    std::optional<store::Artifact> a = store::find_artifact(workspace.db(), v.artifact);
    std::string size =
        a ? fmt::format(" ({} in {} file(s))", store::format_bytes(a->size), a->n_files) : "";
    print_version(
        v, flags->json,
        fmt::format("registered {} {}: {}{}", store::to_string(kind), v.ref(), v.artifact, size));
  });
}

void add_list(CLI::App& parent, RegistryKind kind) {
  auto flags = std::make_shared<RefFlags>();
  CLI::App* cmd = parent.add_subcommand(
      "list",
      fmt::format("Registered {}s with their latest version and aliases", store::to_string(kind)));
  add_workspace_flag(*cmd, flags->workspace);
  cmd->add_flag("--json", flags->json, "Print as JSON");
  cmd->callback([flags, kind] {
    store::Workspace workspace(workspace_root(flags->workspace));
    nlohmann::json names = store::list_registry(workspace.db(), kind);
    if (flags->json) {
      std::cout << names.dump(2) << "\n";
    } else {
      std::cout << store::format_registry_list(names, kind);
    }
  });
}

void add_show(CLI::App& parent, RegistryKind kind) {
  auto flags = std::make_shared<RefFlags>();
  CLI::App* cmd = parent.add_subcommand(
      "show", "All versions of NAME, or one version (NAME@3, NAME:alias) with its files");
  cmd->add_option("ref", flags->ref, "NAME, NAME@VERSION or NAME:ALIAS")->required();
  add_workspace_flag(*cmd, flags->workspace);
  cmd->add_flag("--json", flags->json, "Print as JSON");
  cmd->callback([flags, kind] {
    store::Workspace workspace(workspace_root(flags->workspace));
    nlohmann::json shown = store::show_registry(workspace.db(), kind, flags->ref);
    // A dataset version made by a data step also shows its report.
    const bool one_dataset_version = kind == RegistryKind::kDataset && !shown.contains("versions");
    if (flags->json) {
      if (one_dataset_version) shown["report"] = dataset_report_json(flags->workspace, flags->ref);
      std::cout << shown.dump(2) << "\n";
    } else {
      std::cout << store::format_registry_show(shown);
      if (one_dataset_version) std::cout << dataset_report_text(flags->workspace, flags->ref);
    }
  });
}

void add_alias(CLI::App& parent, RegistryKind kind) {
  auto flags = std::make_shared<AliasFlags>();
  CLI::App* cmd = parent.add_subcommand("alias",
                                        "Point ALIAS (production, staging, any name) at a version, "
                                        "moving it if it exists; --delete NAME ALIAS "
                                        "removes it");
  cmd->add_option("ref", flags->ref,
                  "The version: NAME@VERSION (NAME alone: the latest); with --delete, NAME")
      ->required();
  cmd->add_option("alias", flags->alias, "Alias name")->required();
  cmd->add_flag("--delete", flags->remove,
                "Remove ALIAS from NAME (the version it pointed at is kept)");
  add_workspace_flag(*cmd, flags->workspace);
  cmd->add_flag("--json", flags->json, "Print the version as JSON");
  cmd->callback([flags, kind] {
    store::Workspace workspace(workspace_root(flags->workspace));
    if (flags->remove) {
      store::VersionInfo v = store::remove_alias(workspace, kind, flags->ref, flags->alias);
      print_version(v, flags->json,
                    fmt::format("{} {}:{} removed (was {})", store::to_string(kind), v.name,
                                flags->alias, v.ref()));
      return;
    }
    store::VersionInfo v = store::set_alias(workspace, kind, flags->ref, flags->alias);
    print_version(
        v, flags->json,
        fmt::format("{} {}:{} -> {}", store::to_string(kind), v.name, flags->alias, v.ref()));
  });
}

void add_tag(CLI::App& parent, RegistryKind kind) {
  auto flags = std::make_shared<TagFlags>();
  CLI::App* cmd = parent.add_subcommand("tag", "Set KEY=VALUE tags on a version, or remove them");
  cmd->add_option("ref", flags->ref, "The version: NAME, NAME@VERSION or NAME:ALIAS")->required();
  cmd->add_option("tags", flags->set, "KEY=VALUE (or KEY for an empty value)");
  cmd->add_option("--remove", flags->remove, "Remove the tag KEY (repeatable)")
      ->allow_extra_args(false);
  add_workspace_flag(*cmd, flags->workspace);
  cmd->add_flag("--json", flags->json, "Print the version as JSON");
  cmd->callback([flags, kind] {
    store::Workspace workspace(workspace_root(flags->workspace));
    store::VersionInfo v = store::set_tags(workspace, kind, flags->ref, flags->set, flags->remove);
    std::string tags;
    for (const auto& [key, value] : v.tags) tags += fmt::format(" {}={}", key, value);
    print_version(v, flags->json,
                  fmt::format("{} {} tags:{}", store::to_string(kind), v.ref(),
                              tags.empty() ? " (none)" : tags));
  });
}

void add_path(CLI::App& parent, RegistryKind kind) {
  auto flags = std::make_shared<PathFlags>();
  CLI::App* cmd = parent.add_subcommand(
      "path",
      kind == RegistryKind::kModel
          ? "Print the folder of a model: a folder as given, or a stored NAME, NAME@3, NAME:alias"
          : "Print the stored folder (or file) of a dataset version");
  cmd->add_option("ref", flags->ref, "NAME, NAME@VERSION or NAME:ALIAS")->required();
  add_workspace_flag(*cmd, flags->workspace);
  cmd->add_flag("--no-verify", flags->no_verify,
                "Skip re-hashing an existing checkout (a new checkout is always checked)");
  cmd->callback([flags, kind] {
    // A model folder is printed as given; a stored version (an adapter
    // included: its own folder, as --adapter takes it) as its checkout.
    std::error_code ec;
    if (kind == RegistryKind::kModel && std::filesystem::is_directory(flags->ref, ec)) {
      std::cout << std::filesystem::absolute(flags->ref).lexically_normal().string() << "\n";
      return;
    }
    store::Workspace workspace(workspace_root(flags->workspace));
    if (workspace.encrypted()) {
      // Its checkouts are decrypted for one command and removed with it.
      fail_input(
          "{}: the workspace is encrypted, so stored versions have no lasting folder; give the "
          "reference ({}) to the command that uses it",
          workspace.root().string(), flags->ref);
    }
    std::cout << store::version_path(workspace, kind, flags->ref, !flags->no_verify).string()
              << "\n";
  });
}

void add_delete(CLI::App& parent, RegistryKind kind) {
  std::string k(store::to_string(kind));
  auto flags = std::make_shared<RefFlags>();
  CLI::App* cmd = parent.add_subcommand(
      "delete",
      fmt::format(
          "Delete a {} version: it stops resolving and its aliases go; lineage keeps it, and "
          "`enclave store gc` reclaims its content",
          k));
  cmd->add_option("ref", flags->ref, "The version: NAME@VERSION (always explicit)")->required();
  add_workspace_flag(*cmd, flags->workspace);
  cmd->add_flag("--json", flags->json, "Print the deleted version as JSON");
  cmd->callback([flags, kind] {
    store::Workspace workspace(workspace_root(flags->workspace));
    store::DeletedVersion d = store::delete_version(workspace, kind, flags->ref);
    if (flags->json) {
      std::cout << store::deleted_version_json(d).dump(2) << "\n";
      return;
    }
    std::string text = fmt::format("deleted {} {}", store::to_string(kind), d.version.ref());
    if (!d.aliases_removed.empty())
      text += fmt::format(" (aliases removed: {})", fmt::join(d.aliases_removed, ", "));
    text += d.content_still_referenced ? "; its content is still used elsewhere and stays"
                                       : "; run `enclave store gc` to reclaim its content";
    std::cout << text << "\n";
  });
}

void add_purge(CLI::App& parent, RegistryKind kind) {
  std::string k(store::to_string(kind));
  auto flags = std::make_shared<RefFlags>();
  CLI::App* cmd = parent.add_subcommand(
      "purge",
      fmt::format(
          "Erase a {0} version (hard delete, for erasure requests): its blobs are overwritten and "
          "unlinked (a blob another live version shares is kept), its checkout, aliases and tags "
          "go, and the database is scrubbed (secure_delete, VACUUM, WAL truncated) so the "
          "content is gone from the bytes of .enclave. Allowed even when a registered model was "
          "trained on it: the version stays in lineage as a tombstone marked purged (name, "
          "number, digest, times), so that model's lineage shows its data was erased. A deleted "
          "version can be purged too. Audited",
          k));
  cmd->add_option("ref", flags->ref, "The version: NAME@VERSION (always explicit)")->required();
  add_workspace_flag(*cmd, flags->workspace);
  cmd->add_flag("--json", flags->json, "Print the tombstone and what was removed as JSON");
  cmd->callback([flags, kind] {
    store::Workspace workspace(workspace_root(flags->workspace));
    store::PurgedVersion p = store::purge_version(workspace, kind, flags->ref);
    if (flags->json) {
      std::cout << store::purged_version_json(p).dump(2) << "\n";
    } else {
      std::cout << store::format_purged_version(p);
    }
  });
}

void register_registry(CLI::App& app, RegistryKind kind) {
  bool model = kind == RegistryKind::kModel;
  CLI::App* cmd = app.add_subcommand(model ? "models" : "datasets");
  cmd->require_subcommand(1);
  add_register(*cmd, kind);
  add_list(*cmd, kind);
  add_show(*cmd, kind);
  add_alias(*cmd, kind);
  add_tag(*cmd, kind);
  add_path(*cmd, kind);
  add_delete(*cmd, kind);
  if (!model) add_purge(*cmd, kind);
}

}  // namespace

void register_models(CLI::App& app) { register_registry(app, RegistryKind::kModel); }

void register_datasets(CLI::App& app) { register_registry(app, RegistryKind::kDataset); }

}  // namespace enclave::cli
