// `enclave api-keys add | list | revoke | rotate`: the keys file of
// `enclave serve --api-keys` (serve/auth.h). A running server re-reads the
// file when it changes, so a revoked or rotated key stops working without
// a restart. Each change is recorded in the audit log of the workspace, when
// there is one (actor: the OS user; the key's id is the object).
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "serve/auth.h"
#include "store/audit.h"
#include "store/workspace.h"

namespace enclave::cli {
namespace {

struct KeyFlags {
  std::string file;
  std::string id;
  std::vector<std::string> scopes;
  std::string role;
  int requests_per_minute = 0;
  std::string workspace;
  bool json = false;
};

// Keys files often live outside any workspace: no workspace, no entry.
void audit_key_change(const KeyFlags& flags, std::string_view action) {
  std::unique_ptr<store::Workspace> workspace;
  try {
    workspace = store::Workspace::open({.workspace = flags.workspace});
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kNotFound || !flags.workspace.empty()) throw;
    return;
  }
  store::WriteTransaction tx(workspace->db());
  store::append_audit(workspace->db(), action, "api-key " + flags.id,
                      {{"file", std::filesystem::absolute(flags.file).string()}});
  tx.commit();
}

CLI::App* key_command(CLI::App& parent, const char* name, const char* description,
                      const std::shared_ptr<KeyFlags>& flags, bool with_id) {
  CLI::App* cmd = parent.add_subcommand(name, description);
  cmd->add_option("--file", flags->file, "Keys file")->required();
  if (with_id) cmd->add_option("--id", flags->id, "Id of the key")->required();
  add_workspace_flag(*cmd, flags->workspace);
  return cmd;
}

}  // namespace

void register_api_keys(CLI::App& app) {
  CLI::App* api_keys = app.add_subcommand("api-keys");
  api_keys->require_subcommand(1);

  auto add = std::make_shared<KeyFlags>();
  CLI::App* add_cmd =
      key_command(*api_keys, "add", "Create a key; prints it once, stores only its sha256", add,
                  /*with_id=*/true);
  CLI::Option* scope_opt = add_cmd->add_option(
      "--scope", add->scopes, "read, infer, feedback, approve, admin (repeatable)");
  add_cmd
      ->add_option("--role", add->role,
                   "viewer (read), service (infer, feedback), developer (read, infer, feedback, "
                   "approve) or admin; default: service")
      ->excludes(scope_opt);
  add_cmd->add_option("--requests-per-minute", add->requests_per_minute, "Rate limit (0: none)")
      ->check(CLI::Range(0, 1000000000));
  add_cmd->callback([add] {
    const std::string role = add->role.empty() && add->scopes.empty() ? "service" : add->role;
    const std::string key =
        serve::add_api_key(add->file, add->id, add->scopes, add->requests_per_minute, role);
    audit_key_change(*add, "api-key-add");
    fmt::print("{}\n", key);
    fmt::print(stderr,
               "api key '{}' added to {}; the key above is not stored and cannot be shown again\n",
               add->id, add->file);
  });

  auto list = std::make_shared<KeyFlags>();
  CLI::App* list_cmd = key_command(*api_keys, "list",
                                   "The keys of a file: id, role, scopes, limit, start of the hash",
                                   list, /*with_id=*/false);
  list_cmd->add_flag("--json", list->json, "Print as JSON");
  list_cmd->callback([list] {
    const serve::ApiKeys keys = serve::ApiKeys::load(list->file);
    if (list->json) {
      std::cout << serve::api_keys_json(keys).dump(2) << "\n";
    } else {
      std::cout << serve::format_api_keys(keys);
    }
  });

  auto revoke = std::make_shared<KeyFlags>();
  CLI::App* revoke_cmd = key_command(
      *api_keys, "revoke", "Remove a key; a running server refuses it within a second", revoke,
      /*with_id=*/true);
  revoke_cmd->callback([revoke] {
    serve::revoke_api_key(revoke->file, revoke->id);
    audit_key_change(*revoke, "api-key-revoke");
    fmt::print(stderr, "api key '{}' revoked in {}\n", revoke->id, revoke->file);
  });

  auto rotate = std::make_shared<KeyFlags>();
  CLI::App* rotate_cmd = key_command(
      *api_keys, "rotate", "Give a key a new secret (same id, scopes, limit); prints it once",
      rotate, /*with_id=*/true);
  rotate_cmd->callback([rotate] {
    const std::string key = serve::rotate_api_key(rotate->file, rotate->id);
    audit_key_change(*rotate, "api-key-rotate");
    fmt::print("{}\n", key);
    fmt::print(stderr, "api key '{}' rotated in {}; the old key no longer works\n", rotate->id,
               rotate->file);
  });
}

}  // namespace enclave::cli
