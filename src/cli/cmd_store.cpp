// `enclave store verify`, `store gc`, `store backup DIR`, `store restore DIR`,
// `store keygen`, `store rekey`, `store stats` and `store config`.
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "store/backup.h"
#include "store/gc.h"
#include "store/hash_ledger.h"
#include "store/rekey.h"
#include "store/verify.h"
#include "store/workspace_config.h"
#include "store/workspace_key.h"

namespace enclave::cli {
namespace {

struct VerifyFlags {
  std::string workspace;
  bool json = false;
};

struct GcFlags {
  std::string workspace;
  bool dry_run = false;
  bool json = false;
};

struct BackupFlags {
  std::string workspace;
  std::string dir;
  bool json = false;
};

struct RestoreFlags {
  std::string workspace;
  std::string dir;
  bool force = false;
  bool json = false;
};

// Where restore writes: --workspace (or the global flag), else
// $ENCLAVE_HOME, else the current folder. Never found by walking up, so a
// restore with --force cannot land on a parent's workspace by accident.
std::filesystem::path restore_target(const std::string& workspace) {
  const std::string flag = workspace_flag(workspace);
  if (!flag.empty()) return flag;
  const char* home = std::getenv("ENCLAVE_HOME");
  if (home != nullptr && *home != '\0') return home;
  return std::filesystem::current_path();
}

struct KeygenFlags {
  std::string out;
};

struct RekeyFlags {
  std::string workspace;
  std::string new_key_file;
};

struct StatsFlags {
  std::string workspace;
  bool json = false;
};

struct ConfigFlags {
  std::string workspace;
  std::string key;
  std::string value;
};

}  // namespace

void register_store(CLI::App& app) {
  CLI::App* store_cmd = app.add_subcommand("store");
  store_cmd->require_subcommand(1);

  auto verify = std::make_shared<VerifyFlags>();
  CLI::App* verify_cmd = store_cmd->add_subcommand(
      "verify",
      "Re-hash every stored object and check artifacts, checkouts and the database; "
      "corrupt objects are quarantined and the exit code is non-zero");
  add_workspace_flag(*verify_cmd, verify->workspace);
  verify_cmd->add_flag("--json", verify->json, "Print the report as JSON");
  verify_cmd->callback([verify] {
    store::Workspace workspace(workspace_root(verify->workspace));
    store::VerifyReport report = store::verify_store(workspace, {.show_progress = !verify->json});
    if (verify->json) {
      std::cout << store::verify_report_json(report).dump(2) << "\n";
    } else {
      std::cout << store::format_verify_report(report);
    }
    std::cout.flush();
    if (!report.ok()) {
      fail(ErrorKind::kIo, "store verify: {} problem(s) in {}", report.problems.size(),
           workspace.root().string());
    }
  });

  auto gc = std::make_shared<GcFlags>();
  CLI::App* gc_cmd = store_cmd->add_subcommand(
      "gc", "Remove objects, artifacts and checkouts nothing refers to, and abandoned temp files");
  add_workspace_flag(*gc_cmd, gc->workspace);
  gc_cmd->add_flag("--dry-run", gc->dry_run, "Report what would be removed, remove nothing");
  gc_cmd->add_flag("--json", gc->json, "Print the report as JSON");
  gc_cmd->callback([gc] {
    store::Workspace workspace(workspace_root(gc->workspace));
    store::GcReport report = store::collect_garbage(workspace, {.dry_run = gc->dry_run});
    if (gc->json) {
      std::cout << store::gc_report_json(report).dump(2) << "\n";
    } else {
      std::cout << store::format_gc_report(report);
    }
  });

  auto backup = std::make_shared<BackupFlags>();
  CLI::App* backup_cmd = store_cmd->add_subcommand(
      "backup",
      "Back the workspace up into DIR (new or empty), consistent while it is in use: databases "
      "through SQLite's online backup, the blobs they name copied, run logs, and DIR/manifest.json "
      "(every file's size and sha256) written last. Audited");
  backup_cmd->add_option("dir", backup->dir, "The backup folder (must not exist, or be empty)")
      ->required();
  add_workspace_flag(*backup_cmd, backup->workspace);
  backup_cmd->add_flag("--json", backup->json, "Print the summary as JSON");
  backup_cmd->callback([backup] {
    store::Workspace workspace(workspace_root(backup->workspace));
    store::BackupReport report = store::backup_workspace(workspace, backup->dir);
    if (backup->json) {
      std::cout << store::backup_report_json(report).dump(2) << "\n";
    } else {
      std::cout << store::format_backup_report(report);
    }
  });

  auto restore = std::make_shared<RestoreFlags>();
  CLI::App* restore_cmd = store_cmd->add_subcommand(
      "restore",
      "Restore a backup made by `store backup` into the workspace (--workspace, else "
      "$ENCLAVE_HOME, else the current folder): every file is checked against the manifest "
      "before anything is replaced, a corrupt backup is refused naming the file, and a "
      "non-empty .enclave is replaced only with --force. Runs that were running at backup time "
      "are marked failed. Audited in the restored workspace");
  restore_cmd->add_option("dir", restore->dir, "The backup folder (holding manifest.json)")
      ->required();
  add_workspace_flag(*restore_cmd, restore->workspace);
  restore_cmd->add_flag("--force", restore->force,
                        "Replace an existing workspace store (stop its servers and runs first)");
  restore_cmd->add_flag("--json", restore->json, "Print the summary as JSON");
  restore_cmd->callback([restore] {
    store::RestoreReport report =
        store::restore_workspace({.backup = restore->dir,
                                  .target = restore_target(restore->workspace),
                                  .force = restore->force});
    if (restore->json) {
      std::cout << store::restore_report_json(report).dump(2) << "\n";
    } else {
      std::cout << store::format_restore_report(report);
    }
  });

  auto keygen = std::make_shared<KeygenFlags>();
  CLI::App* keygen_cmd = store_cmd->add_subcommand(
      "keygen", "Write a new random workspace key (for `init --encrypt`) to a new file, mode 0600");
  keygen_cmd->add_option("--out", keygen->out, "Key file to create; keep it outside the workspace")
      ->required();
  keygen_cmd->callback([keygen] {
    store::generate_workspace_key(keygen->out);
    fmt::print("wrote a new workspace key to {}\n", keygen->out);
  });

  auto rekey = std::make_shared<RekeyFlags>();
  CLI::App* rekey_cmd = store_cmd->add_subcommand(
      "rekey",
      "Re-encrypt an encrypted workspace (every object and database) under a new key; the "
      "current key comes from --key-file or $ENCLAVE_WORKSPACE_KEY_FILE");
  add_workspace_flag(*rekey_cmd, rekey->workspace);
  rekey_cmd->add_option("--new-key-file", rekey->new_key_file, "The new key (store keygen)")
      ->required();
  rekey_cmd->callback([rekey] {
    store::RekeyResult r =
        store::rekey_workspace(workspace_root(rekey->workspace), rekey->new_key_file);
    fmt::print(
        "re-encrypted {} objects and {} database(s) under {}; the old key no longer opens this "
        "workspace\n",
        r.n_objects, r.n_databases, rekey->new_key_file);
  });

  auto stats = std::make_shared<StatsFlags>();
  CLI::App* stats_cmd = store_cmd->add_subcommand(
      "stats",
      "Objects and their size, blobs with a recorded verification, and the bytes every command "
      "has hashed in this workspace");
  add_workspace_flag(*stats_cmd, stats->workspace);
  stats_cmd->add_flag("--json", stats->json, "Print the numbers as JSON");
  stats_cmd->callback([stats] {
    store::Workspace workspace(workspace_root(stats->workspace));
    const store::StoreStats s = store::store_stats(workspace);
    if (stats->json) {
      std::cout << store::store_stats_json(s).dump(2) << "\n";
    } else {
      std::cout << store::format_store_stats(s);
    }
  });

  auto config = std::make_shared<ConfigFlags>();
  std::string keys;
  for (const std::string& k : store::workspace_config_keys())
    keys += (keys.empty() ? "" : ", ") + k;
  CLI::App* config_cmd = store_cmd->add_subcommand(
      "config", "Print or set a workspace setting (.enclave/config.json): " + keys);
  add_workspace_flag(*config_cmd, config->workspace);
  config_cmd->add_option("key", config->key, "The setting, e.g. store.verify_max_age")->required();
  config_cmd->add_option("value", config->value, "The new value (e.g. 7d); none: print it");
  config_cmd->callback([config] {
    store::Workspace workspace(workspace_root(config->workspace));
    if (config->value.empty()) {
      std::cout << store::workspace_config_value(workspace.dot_dir(), config->key) << "\n";
      return;
    }
    store::set_workspace_config_value(workspace.dot_dir(), config->key, config->value);
    fmt::print("{} = {}\n", config->key, config->value);
  });
}

}  // namespace enclave::cli
